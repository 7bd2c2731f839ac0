// Runs of consecutive deliveries, and of consecutive query replies, in one Drain() call, each
// handed to JS as one columnar record (typings/native.d.ts, `t: 'deliveries'` and `'replies'`).
//
// Why columns: building a JS object per event through Node-API costs a runtime property store
// with a hidden-class transition per field (about 1,200 instructions each; eleven fields per
// delivery were two thirds of the JS thread's work per consumed message). Numbers go into typed
// arrays (plain memory writes), the repeating texts of deliveries (routing key, exchange,
// category, name, worker key) into a small table referenced by index, and only the payload is
// a JS string per event; lib/ builds each event object with an object literal, which V8
// compiles.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/messages.h"

namespace kazoo::addon {

/// A JS string of `s`: ASCII text is copied as Latin-1, without UTF-8 decoding.
napi_value JsText(napi_env env, const std::string& s);

class DeliveryRun {
 public:
  explicit DeliveryRun(napi_env env) : env_(env) {}
  DeliveryRun(const DeliveryRun&) = delete;
  DeliveryRun& operator=(const DeliveryRun&) = delete;

  /// Adds delivery `e` to the run.
  void add(const core::Event& e);
  bool empty() const { return count_ == 0; }
  /// The record of the run so far; the run starts empty again.
  Napi::Value finish();

  /// Numbers per delivery: subId, epoch, tag, redelivered (0/1), has payload (0/1).
  static constexpr size_t kNumbers = 5;
  /// Text-table indexes per delivery: routing key, exchange, category, name, worker key.
  static constexpr size_t kTexts = 5;

 private:
  uint32_t text_index(const std::string& bytes);

  napi_env env_;
  size_t count_ = 0;
  std::vector<double> numbers_;
  std::vector<uint32_t> indexes_;
  std::vector<napi_value> payloads_;  // the payload, or the raw body when it is not JSON
  std::vector<std::string> texts_;    // the distinct texts of the run, in index order
  std::vector<napi_value> text_values_;
};

class ReplyRun {
 public:
  explicit ReplyRun(napi_env env) : env_(env) {}
  ReplyRun(const ReplyRun&) = delete;
  ReplyRun& operator=(const ReplyRun&) = delete;

  /// Adds query reply `e` to the run.
  void add(const core::Event& e);
  bool empty() const { return ids_.empty(); }
  /// The record of the run so far; the run starts empty again.
  Napi::Value finish();

 private:
  napi_env env_;
  std::vector<uint32_t> ids_;
  std::vector<double> elapsed_;
  std::vector<napi_value> payloads_, routing_keys_;
};

}  // namespace kazoo::addon
