// The wire of one broker connection: the socket (plain TCP or TLS), the only code that reads or
// writes it. Connecting, the TLS handshake, reads and writes are all non-blocking; the loop polls
// fd() for poll_events() and calls advance()/read()/flush(). Frames are split here and their
// methods decoded with rabbitmq-c's codec (amqp_decode_method); rabbitmq-c never touches the
// socket, so nothing is written behind the writer's back (heartbeats included).
#pragma once

#include <amqp.h>
#include <netdb.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/frame_writer.h"
#include "core/messages.h"

struct ssl_ctx_st;
struct ssl_st;

namespace kazoo::core {

/// One frame as read: a decoded method, a content header's body size, or a body fragment.
/// Everything it points to lives until the handler returns.
struct InFrame {
  uint8_t type = 0;  // AMQP_FRAME_METHOD / HEADER / BODY / HEARTBEAT
  uint16_t channel = 0;
  amqp_method_number_t method = 0;
  void* decoded = nullptr;
  uint64_t body_size = 0;
  std::string_view body;
};

class Wire {
 public:
  enum class Phase { Closed, Connecting, Handshaking, Open };

  Wire();
  ~Wire();
  Wire(const Wire&) = delete;
  Wire& operator=(const Wire&) = delete;

  /// Resolves the host and starts a non-blocking connect (TLS set up if options.tls).
  bool start(const ConnectionOptions& options, std::string* reason);
  Phase phase() const { return phase_; }
  int fd() const { return fd_; }
  short poll_events() const;
  /// Moves connect / handshake on after poll() reported revents; false with a reason on failure.
  /// Tries the next resolved address when one refuses.
  bool advance(short revents, std::string* reason);
  /// Reads what the socket has (bounded) and calls on_frame for every complete frame.
  /// False with a reason when the peer closed or the bytes are not AMQP.
  bool read(const std::function<void(const InFrame&)>& on_frame, std::string* reason);
  /// Whether bytes are buffered inside TLS and would not show up in poll().
  bool pending_input() const;
  /// Sends what the socket takes now; false with a reason on a socket error.
  bool flush(std::string* reason);
  FrameWriter& out() { return out_; }
  bool output_pending() const { return out_.size() > out_sent_; }
  size_t output_backlog() const { return out_.size() - out_sent_; }
  /// Bytes handed to the socket since start(), and bytes queued so far (sent + waiting).
  uint64_t bytes_sent() const { return sent_total_; }
  uint64_t bytes_queued() const { return sent_total_ + (out_.size() - out_sent_); }
  void set_frame_max(uint32_t frame_max) { frame_max_ = frame_max; }
  void close();

 private:
  bool try_next_address(std::string* reason);
  bool begin_tls(std::string* reason);
  bool continue_handshake(std::string* reason);
  ssize_t raw_recv(char* buf, size_t len, std::string* reason);
  ssize_t raw_send(const char* buf, size_t len, std::string* reason);
  bool parse_frames(const std::function<void(const InFrame&)>& on_frame, std::string* reason);

  const ConnectionOptions* options_ = nullptr;
  Phase phase_ = Phase::Closed;
  int fd_ = -1;
  addrinfo* addresses_ = nullptr;
  addrinfo* next_address_ = nullptr;
  std::string last_error_;
  ssl_ctx_st* ssl_ctx_ = nullptr;
  ssl_st* ssl_ = nullptr;
  bool handshake_wants_write_ = false;
  // Bytes read and not yet a whole frame: [in_start_, in_end_) of in_buf_, which only grows
  // (no zero-filling per read).
  std::vector<char> in_buf_;
  size_t in_start_ = 0, in_end_ = 0;
  FrameWriter out_;
  size_t out_sent_ = 0;
  uint64_t sent_total_ = 0;
  uint32_t frame_max_ = 131072;
  amqp_pool_t pool_;
};

}  // namespace kazoo::core
