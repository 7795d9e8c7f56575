// Encoder for Kafka response bodies. A response is a list of chunks: bytes
// encoded here, and spans of a segment file (stored record batches) that
// are sent as they are on disk, without decoding or copying them into the
// encoder.
#pragma once

#include <keel/plugin.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keel::kafka {

// A span of a segment file, pinned (kept readable) until the chunk dies.
struct FileSpan {
  int fd = -1;
  int64_t position = 0;
  int64_t length = 0;
  std::shared_ptr<void> pin;  // releases the broker's fetch pin
};

struct Chunk {
  std::string bytes;  // used when file.length == 0
  FileSpan file;
};

class Writer {
 public:
  void int8(int8_t v) { buf_.push_back(static_cast<char>(v)); }
  void boolean(bool v) { int8(v ? 1 : 0); }
  void int16(int16_t v) { be(static_cast<uint16_t>(v)); }
  void int32(int32_t v) { be(static_cast<uint32_t>(v)); }
  void int64(int64_t v) { be(static_cast<uint64_t>(v)); }
  void uint32(uint32_t v) { be(v); }

  void uvarint(uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<char>(v));
  }
  void varint(int64_t v) { uvarint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }

  void string(std::string_view s, bool flexible) {
    if (flexible) {
      uvarint(s.size() + 1);
    } else {
      int16(static_cast<int16_t>(s.size()));
    }
    buf_.append(s);
  }
  void nullable_string(const std::optional<std::string>& s, bool flexible) {
    if (!s) {
      if (flexible) {
        uvarint(0);
      } else {
        int16(-1);
      }
      return;
    }
    string(*s, flexible);
  }
  void bytes(std::string_view b, bool flexible) {
    if (flexible) {
      uvarint(b.size() + 1);
    } else {
      int32(static_cast<int32_t>(b.size()));
    }
    buf_.append(b);
  }
  void null_bytes(bool flexible) {
    if (flexible) {
      uvarint(0);
    } else {
      int32(-1);
    }
  }
  void array_length(int32_t n, bool flexible) {
    if (flexible) {
      uvarint(static_cast<uint64_t>(n + 1));
    } else {
      int32(n);
    }
  }
  // The all-zero UUID: Kafka's "no topic id" (Keel has no topic ids).
  void zero_uuid() { buf_.append(16, '\0'); }
  // Empty tagged-field section (flexible versions only).
  void tagged_fields(bool flexible) {
    if (flexible) uvarint(0);
  }
  void raw(std::string_view b) { buf_.append(b); }

  // Record bytes from a segment file: a length prefix (int32, or compact for
  // flexible versions) followed by the file span. Length 0 writes an empty
  // record set.
  void records(FileSpan span, bool flexible) {
    if (flexible) {
      uvarint(static_cast<uint64_t>(span.length + 1));
    } else {
      int32(static_cast<int32_t>(span.length));
    }
    if (span.length <= 0) return;
    flush_chunk();
    chunks_.push_back(Chunk{std::string(), std::move(span)});
  }

  size_t size() const {
    size_t n = buf_.size();
    for (const auto& c : chunks_)
      n += c.file.length > 0 ? static_cast<size_t>(c.file.length) : c.bytes.size();
    return n;
  }
  std::vector<Chunk> finish() {
    flush_chunk();
    return std::move(chunks_);
  }

 private:
  template <class T>
  void be(T v) {
    for (int i = sizeof(T) - 1; i >= 0; --i) buf_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void flush_chunk() {
    if (!buf_.empty()) chunks_.push_back(Chunk{std::move(buf_), FileSpan{}});
    buf_.clear();
  }

  std::string buf_;
  std::vector<Chunk> chunks_;
};

}  // namespace keel::kafka
