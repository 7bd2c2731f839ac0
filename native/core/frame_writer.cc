// Encodes AMQP frames into the connection's output buffer (see frame_writer.h).
#include "core/frame_writer.h"

#include <algorithm>
#include <cstring>

namespace kazoo::core {
namespace {
constexpr uint8_t kFrameMethod = 1;
constexpr uint8_t kFrameHeader = 2;
constexpr uint8_t kFrameBody = 3;
constexpr uint8_t kFrameHeartbeat = 8;
constexpr uint8_t kFrameEnd = 0xCE;
constexpr uint16_t kBasicClass = 60;
constexpr uint16_t kBasicPublish = 40;
constexpr uint16_t kBasicAck = 80;
constexpr uint16_t kBasicNack = 120;
constexpr uint16_t kFlagContentType = 0x8000;
constexpr uint16_t kFlagHeaders = 0x2000;
constexpr std::string_view kContentType = "application/json";
// Frame type, channel and size before the payload, the end marker after it.
constexpr size_t kFrameOverhead = 8;

// Big-endian writers that advance the pointer: each frame is sized first and then written
// straight into the buffer.
inline void put8(char*& p, uint8_t v) { *p++ = static_cast<char>(v); }
inline void put16(char*& p, uint16_t v) {
  put8(p, static_cast<uint8_t>(v >> 8));
  put8(p, static_cast<uint8_t>(v));
}
inline void put32(char*& p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p, static_cast<uint16_t>(v));
}
inline void put64(char*& p, uint64_t v) {
  put32(p, static_cast<uint32_t>(v >> 32));
  put32(p, static_cast<uint32_t>(v));
}
inline void put_bytes(char*& p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  p += s.size();
}
// Callers guarantee <= 255 bytes (validated in lib/ and by the exchange/routing-key checks).
inline void put_shortstr(char*& p, std::string_view s) {
  put8(p, static_cast<uint8_t>(s.size()));
  put_bytes(p, s);
}
inline void frame_start(char*& p, uint8_t type, uint16_t channel, size_t payload_size) {
  put8(p, type);
  put16(p, channel);
  put32(p, static_cast<uint32_t>(payload_size));
}
}  // namespace

void FrameWriter::grow(size_t n) {
  const size_t capacity = std::max<size_t>({4096, capacity_ * 2, size_ + n});
  std::unique_ptr<char[]> bigger(new char[capacity]);
  if (size_ != 0) std::memcpy(bigger.get(), data_.get(), size_);
  data_ = std::move(bigger);
  capacity_ = capacity;
}

void FrameWriter::consume(size_t n) {
  n = std::min(n, size_);
  std::memmove(data_.get(), data_.get() + n, size_ - n);
  size_ -= n;
}

void FrameWriter::publish(uint16_t channel, std::string_view exchange, std::string_view routing_key,
                          const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
                          uint32_t frame_max) {
  const size_t method_size = 2 + 2 + 2 + 1 + exchange.size() + 1 + routing_key.size() + 1;
  const size_t header_size = header_frame_size(headers);
  const size_t chunk = frame_max > kFrameOverhead ? frame_max - kFrameOverhead : body.size();
  const size_t body_frames = body.empty() ? 0 : (body.size() + chunk - 1) / chunk;
  char* p = extend(method_size + header_size + body.size() + (2 + body_frames) * kFrameOverhead);

  frame_start(p, kFrameMethod, channel, method_size);
  put16(p, kBasicClass);
  put16(p, kBasicPublish);
  put16(p, 0);  // reserved (ticket)
  put_shortstr(p, exchange);
  put_shortstr(p, routing_key);
  put8(p, 0);  // mandatory = false, immediate = false
  put8(p, kFrameEnd);

  frame_start(p, kFrameHeader, channel, header_size);
  put16(p, kBasicClass);
  put16(p, 0);  // weight
  put64(p, body.size());
  put16(p, headers.empty() ? kFlagContentType : static_cast<uint16_t>(kFlagContentType | kFlagHeaders));
  put_shortstr(p, kContentType);
  if (!headers.empty()) {
    size_t table_size = 0;
    for (const auto& [key, value] : headers) table_size += 1 + key.size() + 1 + 4 + value.size();
    put32(p, static_cast<uint32_t>(table_size));
    for (const auto& [key, value] : headers) {
      put_shortstr(p, key);
      put8(p, 'S');  // long string, as the module sends header values
      put32(p, static_cast<uint32_t>(value.size()));
      put_bytes(p, value);
    }
  }
  put8(p, kFrameEnd);

  for (size_t offset = 0; offset < body.size(); offset += chunk) {
    std::string_view part = body.substr(offset, chunk);
    frame_start(p, kFrameBody, channel, part.size());
    put_bytes(p, part);
    put8(p, kFrameEnd);
  }
}

void FrameWriter::heartbeat() {
  char* p = extend(kFrameOverhead);
  frame_start(p, kFrameHeartbeat, 0, 0);
  put8(p, kFrameEnd);
}

void FrameWriter::protocol_header() {
  char* p = extend(8);
  put_bytes(p, std::string_view("AMQP\x00\x00\x09\x01", 8));
}

bool FrameWriter::method(uint16_t channel, amqp_method_number_t id, void* decoded) {
  constexpr size_t kRoom = 64 * 1024;  // far more than any method we send
  const size_t frame_at = size_;
  char* p = extend(7 + 4 + kRoom + 1);
  char* args = p + 7 + 4;
  amqp_bytes_t room{kRoom, args};
  int n = amqp_encode_method(id, decoded, room);
  if (n < 0) {
    size_ = frame_at;
    return false;
  }
  frame_start(p, kFrameMethod, channel, 4 + static_cast<size_t>(n));
  put32(p, id);
  p += n;
  put8(p, kFrameEnd);
  size_ = static_cast<size_t>(p - data_.get());
  return true;
}

size_t FrameWriter::header_frame_size(const std::vector<std::pair<std::string, std::string>>& headers) {
  size_t size = 2 + 2 + 8 + 2 + 1 + kContentType.size();
  if (!headers.empty()) {
    size += 4;
    for (const auto& [key, value] : headers) size += 1 + key.size() + 1 + 4 + value.size();
  }
  return size;
}

void FrameWriter::ack(uint16_t channel, uint64_t delivery_tag, bool multiple) {
  settle(channel, kBasicAck, delivery_tag, multiple ? 0x01 : 0x00);
}

void FrameWriter::nack(uint16_t channel, uint64_t delivery_tag, bool requeue) {
  settle(channel, kBasicNack, delivery_tag, requeue ? 0x02 : 0x00);  // bit 0 multiple, bit 1 requeue
}

void FrameWriter::settle(uint16_t channel, uint16_t method, uint64_t delivery_tag, uint8_t flags) {
  char* p = extend(kFrameOverhead + 13);
  frame_start(p, kFrameMethod, channel, 13);
  put16(p, kBasicClass);
  put16(p, method);
  put64(p, delivery_tag);
  put8(p, flags);
  put8(p, kFrameEnd);
}

}  // namespace kazoo::core
