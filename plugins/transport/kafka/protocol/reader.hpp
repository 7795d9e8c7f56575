// Bounds-checked decoder for Kafka request bodies (big-endian primitives,
// classic and compact/flexible encodings, tagged fields). Any overrun throws
// ProtocolError: the connection answers nothing and closes, as Kafka does
// with a request it cannot parse.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace keel::kafka {

class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Reader {
 public:
  Reader() = default;
  Reader(const uint8_t* data, size_t len) : p_(data), end_(data + len) {}

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  const uint8_t* position() const { return p_; }

  int8_t int8() { return static_cast<int8_t>(take(1)[0]); }
  bool boolean() { return int8() != 0; }
  int16_t int16() { return static_cast<int16_t>(be<uint16_t>()); }
  int32_t int32() { return static_cast<int32_t>(be<uint32_t>()); }
  int64_t int64() { return static_cast<int64_t>(be<uint64_t>()); }
  uint32_t uint32() { return be<uint32_t>(); }

  uint64_t uvarint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = take(1)[0];
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    throw ProtocolError("varint longer than 10 bytes");
  }
  int64_t varint() {
    uint64_t u = uvarint();
    return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
  }

  // Classic strings: int16 length, -1 = null.
  std::optional<std::string> nullable_string() {
    int16_t n = int16();
    if (n < 0) return std::nullopt;
    return str(static_cast<size_t>(n));
  }
  std::string string() {
    auto s = nullable_string();
    if (!s) throw ProtocolError("null where a string is required");
    return *s;
  }
  // Compact strings: uvarint(length + 1), 0 = null.
  std::optional<std::string> compact_nullable_string() {
    const int64_t n = compact_length();
    if (n < 0) return std::nullopt;
    return str(static_cast<size_t>(n));
  }
  std::string compact_string() {
    auto s = compact_nullable_string();
    if (!s) throw ProtocolError("null where a compact string is required");
    return *s;
  }
  std::string any_string(bool flexible) { return flexible ? compact_string() : string(); }
  std::optional<std::string> any_nullable_string(bool flexible) {
    return flexible ? compact_nullable_string() : nullable_string();
  }

  // Bytes: int32 length (-1 null) or compact. Returned as a view into the
  // request buffer, valid while the request lives.
  std::optional<std::string_view> nullable_bytes(bool flexible) {
    const int64_t n = flexible ? compact_length() : int32();
    if (n < 0) return std::nullopt;
    const uint8_t* b = take(static_cast<size_t>(n));
    return std::string_view(reinterpret_cast<const char*>(b), static_cast<size_t>(n));
  }
  std::string_view bytes(bool flexible) { return nullable_bytes(flexible).value_or(std::string_view()); }

  // Array length: int32 (-1 null) or compact uvarint(n + 1). Returns -1 for
  // null. Rejects lengths that could not fit in what remains (each element
  // takes at least one byte), so a hostile length cannot make us allocate.
  int32_t array_length(bool flexible) {
    const int64_t n = flexible ? compact_length() : int32();
    if (n < -1) throw ProtocolError("negative array length");
    if (n > static_cast<int64_t>(remaining())) throw ProtocolError("array length beyond the request");
    return static_cast<int32_t>(n);
  }

  // A compact length: uvarint(n + 1), 0 = null (returned as -1). One
  // beyond what remains is refused here, before it is used: a uvarint near
  // 2^64 would otherwise wrap to a negative length and read as null.
  int64_t compact_length() {
    const uint64_t u = uvarint();
    if (u > static_cast<uint64_t>(remaining()) + 1) {
      throw ProtocolError("compact length " + std::to_string(u - 1) + " beyond the request (" +
                          std::to_string(remaining()) + " bytes left)");
    }
    return static_cast<int64_t>(u) - 1;
  }

  // A UUID (16 raw bytes), e.g. a topic id (KIP-516).
  std::array<uint8_t, 16> uuid() {
    std::array<uint8_t, 16> id{};
    std::memcpy(id.data(), take(id.size()), id.size());
    return id;
  }

  // Tagged fields: skipped (Keel reads none yet).
  void tagged_fields() {
    uint64_t count = uvarint();
    for (uint64_t i = 0; i < count; ++i) {
      uvarint();  // tag
      uint64_t size = uvarint();
      take(static_cast<size_t>(size));
    }
  }

  const uint8_t* take(size_t n) {
    if (n > remaining())
      throw ProtocolError("request truncated: needs " + std::to_string(n) + " more bytes, " +
                          std::to_string(remaining()) + " left");
    const uint8_t* p = p_;
    p_ += n;
    return p;
  }

 private:
  template <class T>
  T be() {
    const uint8_t* b = take(sizeof(T));
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | b[i]);
    return v;
  }
  std::string str(size_t n) { return std::string(reinterpret_cast<const char*>(take(n)), n); }

  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
};

}  // namespace keel::kafka
