// Encodes AMQP frames into the connection's output buffer (see frame_writer.h).
#include "core/frame_writer.h"

namespace kazoo::core {
namespace {
constexpr uint8_t kFrameMethod = 1;
constexpr uint8_t kFrameHeader = 2;
constexpr uint8_t kFrameBody = 3;
constexpr uint8_t kFrameEnd = 0xCE;
constexpr uint16_t kBasicClass = 60;
constexpr uint16_t kBasicPublish = 40;
constexpr uint16_t kBasicAck = 80;
constexpr uint16_t kBasicNack = 120;
constexpr uint16_t kFlagContentType = 0x8000;
constexpr uint16_t kFlagHeaders = 0x2000;
constexpr std::string_view kContentType = "application/json";
}  // namespace

void FrameWriter::u16(uint16_t v) {
  u8(static_cast<uint8_t>(v >> 8));
  u8(static_cast<uint8_t>(v));
}

void FrameWriter::u32(uint32_t v) {
  u16(static_cast<uint16_t>(v >> 16));
  u16(static_cast<uint16_t>(v));
}

void FrameWriter::u64(uint64_t v) {
  u32(static_cast<uint32_t>(v >> 32));
  u32(static_cast<uint32_t>(v));
}

void FrameWriter::shortstr(std::string_view s) {
  // Callers guarantee <= 255 bytes (validated in lib/ and by the exchange/routing-key checks).
  u8(static_cast<uint8_t>(s.size()));
  buffer_.append(s.data(), s.size());
}

void FrameWriter::longstr(std::string_view s) {
  u32(static_cast<uint32_t>(s.size()));
  buffer_.append(s.data(), s.size());
}

size_t FrameWriter::begin_frame(uint8_t type, uint16_t channel) {
  u8(type);
  u16(channel);
  size_t size_at = buffer_.size();
  u32(0);  // patched by end_frame
  return size_at;
}

void FrameWriter::end_frame(size_t size_at) {
  uint32_t size = static_cast<uint32_t>(buffer_.size() - size_at - 4);
  buffer_[size_at] = static_cast<char>(size >> 24);
  buffer_[size_at + 1] = static_cast<char>(size >> 16);
  buffer_[size_at + 2] = static_cast<char>(size >> 8);
  buffer_[size_at + 3] = static_cast<char>(size);
  u8(kFrameEnd);
}

void FrameWriter::publish(uint16_t channel, std::string_view exchange, std::string_view routing_key,
                          const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
                          uint32_t frame_max) {
  buffer_.reserve(buffer_.size() + body.size() + exchange.size() + routing_key.size() + 64);
  size_t at = begin_frame(kFrameMethod, channel);
  u16(kBasicClass);
  u16(kBasicPublish);
  u16(0);  // reserved (ticket)
  shortstr(exchange);
  shortstr(routing_key);
  u8(0);  // mandatory = false, immediate = false
  end_frame(at);

  at = begin_frame(kFrameHeader, channel);
  u16(kBasicClass);
  u16(0);  // weight
  u64(body.size());
  u16(headers.empty() ? kFlagContentType : static_cast<uint16_t>(kFlagContentType | kFlagHeaders));
  shortstr(kContentType);
  if (!headers.empty()) {
    size_t table_at = buffer_.size();
    u32(0);
    for (const auto& [key, value] : headers) {
      shortstr(key);
      u8('S');  // long string, as the module sends header values
      longstr(value);
    }
    uint32_t table_size = static_cast<uint32_t>(buffer_.size() - table_at - 4);
    buffer_[table_at] = static_cast<char>(table_size >> 24);
    buffer_[table_at + 1] = static_cast<char>(table_size >> 16);
    buffer_[table_at + 2] = static_cast<char>(table_size >> 8);
    buffer_[table_at + 3] = static_cast<char>(table_size);
  }
  end_frame(at);

  const size_t chunk = frame_max > 8 ? frame_max - 8 : body.size();
  for (size_t offset = 0; offset < body.size(); offset += chunk) {
    at = begin_frame(kFrameBody, channel);
    std::string_view part = body.substr(offset, chunk);
    buffer_.append(part.data(), part.size());
    end_frame(at);
  }
}

void FrameWriter::heartbeat() {
  end_frame(begin_frame(8, 0));  // frame type 8, channel 0, empty payload
}

void FrameWriter::protocol_header() { buffer_.append("AMQP\x00\x00\x09\x01", 8); }

bool FrameWriter::method(uint16_t channel, amqp_method_number_t id, void* decoded) {
  const size_t frame_at = buffer_.size();
  size_t at = begin_frame(kFrameMethod, channel);
  u32(id);
  const size_t args_at = buffer_.size();
  constexpr size_t kRoom = 64 * 1024;  // far more than any method we send
  buffer_.resize(args_at + kRoom);
  amqp_bytes_t room{kRoom, &buffer_[args_at]};
  int n = amqp_encode_method(id, decoded, room);
  if (n < 0) {
    buffer_.resize(frame_at);
    return false;
  }
  buffer_.resize(args_at + static_cast<size_t>(n));
  end_frame(at);
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
  size_t at = begin_frame(kFrameMethod, channel);
  u16(kBasicClass);
  u16(kBasicAck);
  u64(delivery_tag);
  u8(multiple ? 1 : 0);  // bit 0: multiple
  end_frame(at);
}

void FrameWriter::nack(uint16_t channel, uint64_t delivery_tag, bool requeue) {
  size_t at = begin_frame(kFrameMethod, channel);
  u16(kBasicClass);
  u16(kBasicNack);
  u64(delivery_tag);
  u8(requeue ? 0x02 : 0x00);  // bit 0 multiple = false, bit 1 requeue
  end_frame(at);
}

}  // namespace kazoo::core
