// The output buffer of one connection: every frame we send is encoded here, so a burst leaves
// in a single send() and frames can never interleave. The hot paths (basic.publish with its
// content, basic.ack, basic.nack, heartbeats) are encoded by hand; other methods through
// rabbitmq-c's codec (amqp_encode_method), which only encodes and never writes.
#pragma once

#include <amqp.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kazoo::core {

class FrameWriter {
 public:
  /// basic.publish (mandatory = immediate = false) + content header with content_type
  /// application/json and optional long-string headers + body frames of at most frame_max - 8.
  void publish(uint16_t channel, std::string_view exchange, std::string_view routing_key,
               const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
               uint32_t frame_max);
  /// `multiple`: every unacked delivery of the channel up to `delivery_tag` (the consumer checks
  /// that each of them was settled by its handler).
  void ack(uint16_t channel, uint64_t delivery_tag, bool multiple = false);
  void nack(uint16_t channel, uint64_t delivery_tag, bool requeue);
  void heartbeat();
  /// The protocol header that opens a connection ("AMQP" 0 0 9 1).
  void protocol_header();
  /// Any method, encoded by rabbitmq-c; false (nothing added) if it does not encode.
  bool method(uint16_t channel, amqp_method_number_t id, void* decoded);
  /// Bytes the content-header frame of publish() would carry for these headers (to check them
  /// against frame_max before anything is queued).
  static size_t header_frame_size(const std::vector<std::pair<std::string, std::string>>& headers);

  bool empty() const { return buffer_.empty(); }
  size_t size() const { return buffer_.size(); }
  const char* data() const { return buffer_.data(); }
  /// Drops the first n bytes (after a partial write).
  void consume(size_t n) { buffer_.erase(0, n); }
  void clear() { buffer_.clear(); }

 private:
  size_t begin_frame(uint8_t type, uint16_t channel);
  void end_frame(size_t size_at);
  void u8(uint8_t v) { buffer_.push_back(static_cast<char>(v)); }
  void u16(uint16_t v);
  void u32(uint32_t v);
  void u64(uint64_t v);
  void shortstr(std::string_view s);
  void longstr(std::string_view s);

  std::string buffer_;
};

}  // namespace kazoo::core
