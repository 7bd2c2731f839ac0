// The output buffer of one connection: every frame we send is encoded here, so a burst leaves
// in a single send() and frames can never interleave. The hot paths (basic.publish with its
// content, basic.ack, basic.nack, heartbeats) are encoded by hand; other methods through
// rabbitmq-c's codec (amqp_encode_method), which only encodes and never writes.
#pragma once

#include <amqp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kazoo::core {

class FrameWriter {
 public:
  FrameWriter() = default;
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;

  /// basic.publish (mandatory = immediate = false) + content header with content_type
  /// application/json and optional long-string headers + body frames of at most frame_max - 8.
  void publish(uint16_t channel, std::string_view exchange, std::string_view routing_key,
               const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
               uint32_t frame_max);
  /// basic.ack; `multiple` acknowledges every earlier unacknowledged tag of the channel too.
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

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  const char* data() const { return data_.get(); }
  /// Drops the first n bytes (after a partial write).
  void consume(size_t n);
  void clear() { size_ = 0; }

 private:
  /// n more bytes at the end, left uninitialised for the caller to fill: frames are written
  /// through a pointer, without a capacity check per byte or zero-filling first.
  char* extend(size_t n) {
    if (capacity_ - size_ < n) grow(n);
    char* at = data_.get() + size_;
    size_ += n;
    return at;
  }
  void grow(size_t n);
  /// basic.ack / basic.nack: the same 13-byte method with its flag bits.
  void settle(uint16_t channel, uint16_t method, uint64_t delivery_tag, uint8_t flags);

  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace kazoo::core
