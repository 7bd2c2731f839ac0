// The stable failure codes the core reports, as one enum. Each value names a KazooErrorCode in
// lib/errors.ts (documented in docs/errors.md); test/native/error-codes.test.ts checks that every
// name listed here is one of them, so a code added on one side only fails the build's tests.
#pragma once

#include <string>

namespace kazoo::core {

#define KAZOO_ERROR_CODES(X)             \
  X(InvalidArgument, "INVALID_ARGUMENT") \
  X(InvalidJson, "INVALID_JSON")         \
  X(NotConnected, "NOT_CONNECTED")       \
  X(BrokerRefused, "BROKER_REFUSED")     \
  X(ChannelClosed, "CHANNEL_CLOSED")     \
  X(ConnectionLost, "CONNECTION_LOST")   \
  X(ConnectFailed, "CONNECT_FAILED")     \
  X(Closed, "CLOSED")                    \
  X(PublishTimeout, "PUBLISH_TIMEOUT")   \
  X(PublishBufferFull, "PUBLISH_BUFFER_FULL")

enum class ErrorCode {
#define KAZOO_ENUM_VALUE(name, text) name,
  KAZOO_ERROR_CODES(KAZOO_ENUM_VALUE)
#undef KAZOO_ENUM_VALUE
  // Internal, never reported: the fast JSON route does not take this input (the reference
  // route runs instead).
  Declined,
};

/// The KazooErrorCode text of a code ("DECLINED" for the internal one).
inline const char* error_code_name(ErrorCode code) {
  switch (code) {
#define KAZOO_CASE(name, text) \
  case ErrorCode::name: return text;
    KAZOO_ERROR_CODES(KAZOO_CASE)
#undef KAZOO_CASE
    case ErrorCode::Declined: return "DECLINED";
  }
  return "INVALID_ARGUMENT";
}

/// Every reportable code's text, in enum order (for the test that they are all documented).
inline const char* const* error_code_names(int* count) {
  static const char* const names[] = {
#define KAZOO_NAME(name, text) text,
      KAZOO_ERROR_CODES(KAZOO_NAME)
#undef KAZOO_NAME
  };
  *count = static_cast<int>(sizeof names / sizeof names[0]);
  return names;
}

}  // namespace kazoo::core
