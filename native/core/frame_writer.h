// AMQP 0-9-1 frames for the hot paths (basic.publish with its content, basic.ack, basic.nack),
// encoded into one buffer so a burst of them leaves in a single send() instead of rabbitmq-c's
// one send() per frame. Only used on plain TCP connections; TLS goes through rabbitmq-c.
#pragma once

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
  void ack(uint16_t channel, uint64_t delivery_tag);
  void nack(uint16_t channel, uint64_t delivery_tag, bool requeue);
  void heartbeat();

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
