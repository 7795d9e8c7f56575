// Kafka RecordBatch v2 (magic 2): header access, validation, building and
// decoding of uncompressed batches.
//
// Header-only so plugins (index, transport) can read batches without linking
// the kernel. The layout follows Kafka's DefaultRecordBatch/DefaultRecord:
// a 61-byte big-endian header, then records whose integers are zigzag
// varints. Every read is bounds-checked: the bytes come from the network or
// from disk and must never make us read past the buffer.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <keel/crc32c.hpp>
#include <keel/plugin.hpp>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace keel::batch {

constexpr size_t kHeaderSize = 61;   // bytes before the records
constexpr size_t kLogOverhead = 12;  // baseOffset + batchLength
constexpr int kMagic = 2;

constexpr size_t kBaseOffsetPos = 0;
constexpr size_t kLengthPos = 8;
constexpr size_t kLeaderEpochPos = 12;
constexpr size_t kMagicPos = 16;
constexpr size_t kCrcPos = 17;
constexpr size_t kAttributesPos = 21;
constexpr size_t kLastOffsetDeltaPos = 23;
constexpr size_t kBaseTimestampPos = 27;
constexpr size_t kMaxTimestampPos = 35;
constexpr size_t kProducerIdPos = 43;
constexpr size_t kProducerEpochPos = 51;
constexpr size_t kBaseSequencePos = 53;
constexpr size_t kRecordsCountPos = 57;

// The smallest legal batchLength: a header with no records.
constexpr int32_t kMinBatchLength = static_cast<int32_t>(kHeaderSize - kLogOverhead);

constexpr int16_t kCompressionMask = 0x07;
constexpr int16_t kLogAppendTimeFlag = 0x08;
constexpr int16_t kTransactionalFlag = 0x10;
constexpr int16_t kControlFlag = 0x20;

enum class Compression : int { None = 0, Gzip = 1, Snappy = 2, Lz4 = 3, Zstd = 4 };

inline const char* compression_name(Compression c) {
  switch (c) {
    case Compression::None:
      return "uncompressed";
    case Compression::Gzip:
      return "gzip";
    case Compression::Snappy:
      return "snappy";
    case Compression::Lz4:
      return "lz4";
    case Compression::Zstd:
      return "zstd";
  }
  return "unknown";
}

struct Header {
  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t partition_leader_epoch = 0;
  int8_t magic = 0;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = 0;
  int16_t producer_epoch = 0;
  int32_t base_sequence = 0;
  int32_t records_count = 0;

  int64_t last_offset() const {
    // Wrapping add: a corrupt header must not be undefined behaviour.
    return static_cast<int64_t>(static_cast<uint64_t>(base_offset) +
                                static_cast<uint64_t>(last_offset_delta));
  }
  // Only meaningful when batch_length >= 0 (validate() checks that).
  size_t total_size() const { return static_cast<size_t>(batch_length) + kLogOverhead; }
  Compression compression() const { return static_cast<Compression>(attributes & kCompressionMask); }
  bool log_append_time() const { return (attributes & kLogAppendTimeFlag) != 0; }
  bool transactional() const { return (attributes & kTransactionalFlag) != 0; }
  bool control() const { return (attributes & kControlFlag) != 0; }
};

struct RecordHeader {
  std::string key;  // never null in Kafka's format
  std::optional<std::string> value;
  bool operator==(const RecordHeader&) const = default;
};

struct Record {
  int64_t offset = 0;                // absolute offset (base + delta) when decoded
  int64_t timestamp = 0;             // absolute
  std::optional<std::string> key;    // nullopt = null key
  std::optional<std::string> value;  // nullopt = null value (tombstone)
  std::vector<RecordHeader> headers;
  bool operator==(const Record&) const = default;
};

namespace detail {

template <class T>
T load_be(const uint8_t* p) {
  using U = std::make_unsigned_t<T>;
  U v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<U>((v << 8) | p[i]);
  return static_cast<T>(v);
}

template <class T>
void store_be(uint8_t* p, T value) {
  using U = std::make_unsigned_t<T>;
  auto v = static_cast<U>(value);
  for (size_t i = sizeof(T); i > 0; --i) {
    p[i - 1] = static_cast<uint8_t>(v & 0xFFu);
    v = static_cast<U>(v >> 8);
  }
}

inline int64_t wrapping_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

inline int64_t wrapping_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

inline std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", v);
  return buf;
}

}  // namespace detail

// ------------------------------------------------------------ varints

inline uint64_t zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }

// Bytes put_varint writes for v.
inline size_t varint_size(int64_t v) {
  uint64_t z = zigzag(v);
  size_t n = 1;
  while (z >= 0x80) {
    z >>= 7;
    ++n;
  }
  return n;
}

// Appends v as a zigzag LEB128 varint (protobuf sint32/sint64; Kafka's
// varint and varlong share this encoding).
inline void put_varint(std::string& out, int64_t v) {
  uint64_t z = zigzag(v);
  while (z >= 0x80) {
    out.push_back(static_cast<char>((z & 0x7Fu) | 0x80u));
    z >>= 7;
  }
  out.push_back(static_cast<char>(z));
}

// Reads a zigzag varint of at most 10 bytes from [p, end). On success
// advances p and returns true; on overrun or an over-long encoding returns
// false and leaves p unchanged.
inline bool get_varint(const uint8_t*& p, const uint8_t* end, int64_t& out) {
  const uint8_t* q = p;
  uint64_t raw = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (q == end) return false;
    const uint8_t b = *q++;
    // The tenth byte holds only the top bit of a 64-bit value.
    if (shift == 63 && b > 1) return false;
    raw |= static_cast<uint64_t>(b & 0x7Fu) << shift;
    if ((b & 0x80u) == 0) {
      out = static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1u);
      p = q;
      return true;
    }
  }
  return false;
}

// Like get_varint for Kafka's 32-bit varint fields: at most 5 bytes and the
// value must fit an int32.
inline bool get_varint32(const uint8_t*& p, const uint8_t* end, int32_t& out) {
  const uint8_t* q = p;
  int64_t v = 0;
  if (!get_varint(q, end, v) || q - p > 5 || v < std::numeric_limits<int32_t>::min() ||
      v > std::numeric_limits<int32_t>::max()) {
    return false;
  }
  out = static_cast<int32_t>(v);
  p = q;
  return true;
}

// ------------------------------------------------------- batch header

// Reads the 61-byte header; std::nullopt if len < kHeaderSize. Does not
// validate.
inline std::optional<Header> parse_header(const uint8_t* data, size_t len) {
  if (data == nullptr || len < kHeaderSize) return std::nullopt;
  using detail::load_be;
  Header h;
  h.base_offset = load_be<int64_t>(data + kBaseOffsetPos);
  h.batch_length = load_be<int32_t>(data + kLengthPos);
  h.partition_leader_epoch = load_be<int32_t>(data + kLeaderEpochPos);
  h.magic = load_be<int8_t>(data + kMagicPos);
  h.crc = load_be<uint32_t>(data + kCrcPos);
  h.attributes = load_be<int16_t>(data + kAttributesPos);
  h.last_offset_delta = load_be<int32_t>(data + kLastOffsetDeltaPos);
  h.base_timestamp = load_be<int64_t>(data + kBaseTimestampPos);
  h.max_timestamp = load_be<int64_t>(data + kMaxTimestampPos);
  h.producer_id = load_be<int64_t>(data + kProducerIdPos);
  h.producer_epoch = load_be<int16_t>(data + kProducerEpochPos);
  h.base_sequence = load_be<int32_t>(data + kBaseSequencePos);
  h.records_count = load_be<int32_t>(data + kRecordsCountPos);
  return h;
}

// CRC-32C of [21, total_size): everything from the attributes on.
inline uint32_t compute_crc(const uint8_t* data, size_t total_size) {
  if (total_size <= kAttributesPos) return 0;
  return crc32c(data + kAttributesPos, total_size - kAttributesPos);
}

// Checks one batch starting at data (len = bytes available from data).
// Returns "" when valid, else a short reason.
inline std::string validate(const uint8_t* data, size_t len) {
  if (data == nullptr || len < kLogOverhead) {
    return "truncated: batch needs at least " + std::to_string(kLogOverhead) +
           " bytes for offset and length, " + std::to_string(len) + " available";
  }
  const auto batch_length = detail::load_be<int32_t>(data + kLengthPos);
  const bool have_magic = len > kMagicPos;
  const int magic = have_magic ? detail::load_be<int8_t>(data + kMagicPos) : kMagic;
  const std::string bad_magic =
      "magic " + std::to_string(magic) + " is not supported (only RecordBatch v2, magic 2)";
  if (batch_length < kMinBatchLength) {
    // Legacy message sets (magic 0/1) are legitimately shorter: name the
    // real problem rather than the length.
    if (magic != kMagic) return bad_magic;
    return "batch length " + std::to_string(batch_length) + " below minimum " +
           std::to_string(kMinBatchLength);
  }
  const size_t total = static_cast<size_t>(batch_length) + kLogOverhead;
  if (total > len) {
    return "truncated: batch needs " + std::to_string(total) + " bytes, " + std::to_string(len) +
           " available";
  }
  if (magic != kMagic) return bad_magic;
  const auto stored = detail::load_be<uint32_t>(data + kCrcPos);
  const uint32_t computed = compute_crc(data, total);
  if (stored != computed) {
    return "CRC mismatch: stored " + detail::hex32(stored) + ", computed " + detail::hex32(computed);
  }
  const auto last_offset_delta = detail::load_be<int32_t>(data + kLastOffsetDeltaPos);
  if (last_offset_delta < 0) return "last offset delta " + std::to_string(last_offset_delta) + " is negative";
  const auto records_count = detail::load_be<int32_t>(data + kRecordsCountPos);
  if (records_count < 0) return "records count " + std::to_string(records_count) + " is negative";
  return "";
}

// Rewrites baseOffset in place (outside the CRC, so the CRC stays valid).
inline void set_base_offset(uint8_t* data, int64_t base_offset) {
  detail::store_be<int64_t>(data + kBaseOffsetPos, base_offset);
}

// Rewrites partitionLeaderEpoch in place (also outside the CRC).
inline void set_partition_leader_epoch(uint8_t* data, int32_t epoch) {
  detail::store_be<int32_t>(data + kLeaderEpochPos, epoch);
}

// ------------------------------------------------------------ builder

// Builds an uncompressed RecordBatch v2: magic 2, CRC filled in,
// partitionLeaderEpoch -1, and producer id/epoch/sequence -1 unless set.
class Builder {
 public:
  explicit Builder(int64_t base_offset = 0) : base_offset_(base_offset) {}

  // r.offset is ignored: offsets are base + index.
  Builder& add(const Record& r) { return append(r.key, r.value, r.timestamp, r.headers, next_delta()); }

  Builder& add(std::optional<std::string> key, std::optional<std::string> value, int64_t timestamp,
               std::vector<RecordHeader> headers = {}) {
    return append(key, value, timestamp, headers, next_delta());
  }

  // Keeps r.offset, for rebuilding a batch with some records removed (as a
  // log cleaner does): offsets must ascend and stay >= the base offset.
  Builder& add_at(const Record& r) {
    const int64_t delta = detail::wrapping_sub(r.offset, base_offset_);
    if (delta < 0 || delta > std::numeric_limits<int32_t>::max() || (count_ > 0 && delta <= last_delta_)) {
      throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT,
                       "record offset " + std::to_string(r.offset) + " cannot follow offset " +
                           std::to_string(base_offset_ + last_delta_) + " in a batch based at " +
                           std::to_string(base_offset_) + "; offsets must ascend within 2^31 of the base");
    }
    return append(r.key, r.value, r.timestamp, r.headers, delta);
  }

  // Keeps a batch's lastOffsetDelta when its last records were removed, so
  // that the producer's last sequence number (baseSequence + lastOffsetDelta)
  // and the consumer's next offset stay what they were, as Kafka's cleaner
  // does. Must be >= the delta of the last record added.
  Builder& last_offset_delta(int32_t delta) {
    last_delta_override_ = delta;
    return *this;
  }

  Builder& partition_leader_epoch(int32_t epoch) {
    leader_epoch_ = epoch;
    return *this;
  }

  Builder& producer(int64_t id, int16_t epoch, int32_t base_sequence) {
    producer_id_ = id;
    producer_epoch_ = epoch;
    base_sequence_ = base_sequence;
    return *this;
  }

  // E.g. the log-append-time or transactional bit. The codec bits must stay
  // 0: this builder never compresses.
  Builder& attributes(int16_t attrs) {
    if ((attrs & kCompressionMask) != 0) {
      throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "batch builder cannot set compression bits (attributes " +
                                                      std::to_string(attrs) +
                                                      "); it only writes uncompressed batches");
    }
    attributes_ = attrs;
    return *this;
  }

  size_t record_count() const { return count_; }

  // The whole batch. Throws Error(KEEL_ERR_INVALID_ARGUMENT) if empty.
  std::string build() const {
    if (count_ == 0) {
      throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT,
                       "cannot build a record batch with no records; add one first");
    }
    const size_t total = kHeaderSize + records_.size();
    if (total - kLogOverhead > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
      throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT,
                       "record batch of " + std::to_string(total) +
                           " bytes exceeds the 2 GiB batch length limit; split it");
    }
    std::string out(kHeaderSize, '\0');
    out.reserve(total);
    auto* h = reinterpret_cast<uint8_t*>(out.data());
    using detail::store_be;
    store_be<int64_t>(h + kBaseOffsetPos, base_offset_);
    store_be<int32_t>(h + kLengthPos, static_cast<int32_t>(total - kLogOverhead));
    store_be<int32_t>(h + kLeaderEpochPos, leader_epoch_);
    store_be<int8_t>(h + kMagicPos, static_cast<int8_t>(kMagic));
    store_be<int16_t>(h + kAttributesPos, attributes_);
    if (last_delta_override_ && *last_delta_override_ < last_delta_) {
      throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT,
                       "last offset delta " + std::to_string(*last_delta_override_) +
                           " is below the delta of the last record, " + std::to_string(last_delta_));
    }
    store_be<int32_t>(h + kLastOffsetDeltaPos, last_delta_override_.value_or(last_delta_));
    store_be<int64_t>(h + kBaseTimestampPos, first_timestamp_);
    store_be<int64_t>(h + kMaxTimestampPos, max_timestamp_);
    store_be<int64_t>(h + kProducerIdPos, producer_id_);
    store_be<int16_t>(h + kProducerEpochPos, producer_epoch_);
    store_be<int32_t>(h + kBaseSequencePos, base_sequence_);
    store_be<int32_t>(h + kRecordsCountPos, static_cast<int32_t>(count_));
    // Start the CRC on the header tail, then continue it over the records,
    // so the records are hashed straight from where they already are.
    uint32_t crc = crc32c(h + kAttributesPos, kHeaderSize - kAttributesPos);
    crc = crc32c(records_.data(), records_.size(), crc);
    store_be<uint32_t>(h + kCrcPos, crc);
    out += records_;
    return out;
  }

 private:
  static int32_t checked_length(size_t n, const char* what) {
    if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
      throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, std::string(what) + " of " + std::to_string(n) +
                                                      " bytes exceeds Kafka's 2 GiB field limit");
    }
    return static_cast<int32_t>(n);
  }

  static size_t bytes_size(const std::optional<std::string>& s) {
    return s ? varint_size(static_cast<int64_t>(s->size())) + s->size() : 1;
  }

  static void put_bytes(std::string& out, const std::optional<std::string>& s) {
    if (!s) {
      put_varint(out, -1);
      return;
    }
    put_varint(out, static_cast<int64_t>(s->size()));
    out += *s;
  }

  int64_t next_delta() const { return count_ == 0 ? 0 : last_delta_ + 1; }

  Builder& append(const std::optional<std::string>& key, const std::optional<std::string>& value,
                  int64_t timestamp, const std::vector<RecordHeader>& headers, int64_t offset_delta) {
    if (count_ >= static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
      throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "record batch is full (2^31-1 records); start a new one");
    }
    if (key) checked_length(key->size(), "record key");
    if (value) checked_length(value->size(), "record value");
    checked_length(headers.size(), "header count");
    if (count_ == 0) {
      first_timestamp_ = timestamp;
      max_timestamp_ = timestamp;
    } else if (timestamp > max_timestamp_) {
      max_timestamp_ = timestamp;
    }
    if (offset_delta > std::numeric_limits<int32_t>::max()) {
      throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "record batch spans 2^31 offsets; start a new one");
    }
    const int64_t ts_delta = detail::wrapping_sub(timestamp, first_timestamp_);

    // The body size comes first on the wire, so size it before writing.
    size_t body = 1 + varint_size(ts_delta) + varint_size(offset_delta) + bytes_size(key) +
                  bytes_size(value) + varint_size(static_cast<int64_t>(headers.size()));
    for (const auto& hdr : headers) {
      checked_length(hdr.key.size(), "header key");
      if (hdr.value) checked_length(hdr.value->size(), "header value");
      body += varint_size(static_cast<int64_t>(hdr.key.size())) + hdr.key.size() + bytes_size(hdr.value);
    }
    const int32_t body_len = checked_length(body, "record");

    records_.reserve(records_.size() + varint_size(body_len) + body);
    put_varint(records_, body_len);
    records_.push_back('\0');  // record attributes: unused in v2
    put_varint(records_, ts_delta);
    put_varint(records_, offset_delta);
    put_bytes(records_, key);
    put_bytes(records_, value);
    put_varint(records_, static_cast<int64_t>(headers.size()));
    for (const auto& hdr : headers) {
      put_varint(records_, static_cast<int64_t>(hdr.key.size()));
      records_ += hdr.key;
      put_bytes(records_, hdr.value);
    }
    ++count_;
    last_delta_ = static_cast<int32_t>(offset_delta);
    return *this;
  }

  int64_t base_offset_;
  int64_t producer_id_ = -1;
  int16_t producer_epoch_ = -1;
  int32_t base_sequence_ = -1;
  int16_t attributes_ = 0;
  int32_t leader_epoch_ = -1;
  int32_t last_delta_ = 0;  // offset delta of the last record added
  std::optional<int32_t> last_delta_override_;
  int64_t first_timestamp_ = 0;
  int64_t max_timestamp_ = 0;
  size_t count_ = 0;
  std::string records_;  // encoded records, appended as they are added
};

// ------------------------------------------------------------ decoding

namespace detail {

// Walks one records section, throwing KEEL_ERR_CORRUPT with the record index
// on any malformed byte.
class RecordReader {
 public:
  RecordReader(const Header& h, const uint8_t* p, const uint8_t* end) : h_(h), p_(p), end_(end) {}

  const uint8_t* position() const { return p_; }

  Record next(int32_t index) {
    index_ = index;
    const int32_t body_len = varint32(p_, end_, "record length");
    if (body_len < 0) fail("record length " + std::to_string(body_len) + " is negative");
    if (static_cast<size_t>(end_ - p_) < static_cast<size_t>(body_len)) {
      fail("record needs " + std::to_string(body_len) + " bytes, only " + std::to_string(end_ - p_) +
           " left");
    }
    const uint8_t* body = p_;
    const uint8_t* body_end = p_ + body_len;
    if (body == body_end) fail("record is empty (no attributes byte)");
    ++body;  // record attributes: unused in v2

    Record r;
    int64_t ts_delta = 0;
    if (!get_varint(body, body_end, ts_delta))
      fail("timestamp delta varint overruns the record or is malformed");
    // As in Kafka: with log-append time every record carries the batch's
    // max timestamp (the broker's append time).
    r.timestamp = h_.log_append_time() ? h_.max_timestamp : wrapping_add(h_.base_timestamp, ts_delta);
    const int32_t offset_delta = varint32(body, body_end, "offset delta");
    r.offset = wrapping_add(h_.base_offset, offset_delta);
    r.key = nullable_bytes(body, body_end, "key");
    r.value = nullable_bytes(body, body_end, "value");
    const int32_t header_count = varint32(body, body_end, "header count");
    if (header_count < 0) fail("header count " + std::to_string(header_count) + " is negative");
    // Each header needs at least 2 bytes; refuse counts the bytes cannot
    // hold before reserving memory for them.
    if (static_cast<size_t>(header_count) > static_cast<size_t>(body_end - body) / 2) {
      fail("header count " + std::to_string(header_count) + " does not fit in the record");
    }
    r.headers.reserve(static_cast<size_t>(header_count));
    for (int32_t i = 0; i < header_count; ++i) {
      RecordHeader hdr;
      auto hkey = nullable_bytes(body, body_end, "header key");
      if (!hkey) fail("header key " + std::to_string(i) + " is null");
      hdr.key = std::move(*hkey);
      hdr.value = nullable_bytes(body, body_end, "header value");
      r.headers.push_back(std::move(hdr));
    }
    if (body != body_end) {
      fail("record length says " + std::to_string(body_len) + " bytes but its fields take " +
           std::to_string(body_len - (body_end - body)));
    }
    p_ = body_end;
    return r;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw sdk::Error(KEEL_ERR_CORRUPT, what + ", at record " + std::to_string(index_) +
                                           " of the batch at offset " + std::to_string(h_.base_offset));
  }

  int32_t varint32(const uint8_t*& p, const uint8_t* end, const char* what) const {
    int32_t v = 0;
    if (!get_varint32(p, end, v)) fail(std::string(what) + " varint overruns the record or is malformed");
    return v;
  }

  std::optional<std::string> nullable_bytes(const uint8_t*& p, const uint8_t* end, const char* what) const {
    const int32_t n = varint32(p, end, what);
    if (n == -1) return std::nullopt;
    if (n < 0) fail(std::string(what) + " length " + std::to_string(n) + " is invalid (only -1 means null)");
    if (static_cast<size_t>(end - p) < static_cast<size_t>(n)) {
      fail(std::string(what) + " length " + std::to_string(n) + " overruns the record by " +
           std::to_string(static_cast<size_t>(n) - static_cast<size_t>(end - p)) + " bytes");
    }
    std::string s(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
    p += n;
    return s;
  }

  const Header& h_;
  const uint8_t* p_;
  const uint8_t* end_;
  int32_t index_ = 0;
};

}  // namespace detail

// Decodes a records section (the bytes after the 61-byte header, already
// decompressed) using the header's base offset, timestamps and count. A
// codec layer decompresses and then calls this.
inline std::vector<Record> decode_records(const Header& h, const uint8_t* records, size_t len) {
  const auto where = [&] { return " in the batch at offset " + std::to_string(h.base_offset); };
  if (h.records_count < 0) {
    throw sdk::Error(KEEL_ERR_CORRUPT,
                     "records count " + std::to_string(h.records_count) + " is negative" + where());
  }
  if (len > 0 && records == nullptr) throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "null records pointer");
  const uint8_t* end = records + len;
  detail::RecordReader reader(h, records, end);
  std::vector<Record> out;
  // The smallest record is 7 bytes, so a corrupt count cannot make us
  // reserve more than the bytes could hold.
  out.reserve(std::min(static_cast<size_t>(h.records_count), len / 7));
  for (int32_t i = 0; i < h.records_count; ++i) {
    if (reader.position() == end) {
      throw sdk::Error(KEEL_ERR_CORRUPT, "records count says " + std::to_string(h.records_count) +
                                             " but the bytes end after " + std::to_string(i) +
                                             ", at record " + std::to_string(i) + where());
    }
    out.push_back(reader.next(i));
  }
  if (reader.position() != end) {
    throw sdk::Error(KEEL_ERR_CORRUPT, std::to_string(end - reader.position()) + " bytes left over after " +
                                           std::to_string(h.records_count) + " records, at record " +
                                           std::to_string(h.records_count) + where());
  }
  return out;
}

// Validates and decodes the records of one uncompressed batch at data.
// Throws KEEL_ERR_CORRUPT if the batch fails validate() or a record is
// malformed, KEEL_ERR_UNSUPPORTED if it is compressed.
inline std::vector<Record> decode(const uint8_t* data, size_t len) {
  const std::string problem = validate(data, len);
  if (!problem.empty()) throw sdk::Error(KEEL_ERR_CORRUPT, "invalid record batch: " + problem);
  const Header h = *parse_header(data, len);
  if (h.compression() != Compression::None) {
    const int codec = static_cast<int>(h.compression());
    if (codec > static_cast<int>(Compression::Zstd)) {
      throw sdk::Error(KEEL_ERR_CORRUPT, "batch at offset " + std::to_string(h.base_offset) +
                                             " names unknown compression codec " + std::to_string(codec));
    }
    throw sdk::Error(KEEL_ERR_UNSUPPORTED, std::string(compression_name(h.compression())) +
                                               "-compressed batch at offset " +
                                               std::to_string(h.base_offset) +
                                               " is not decoded here (header-only, no codec libraries): "
                                               "use keel::codec::decode_batch from <keel/codec.hpp> "
                                               "(target Keel::codec)");
  }
  return decode_records(h, data + kHeaderSize, h.total_size() - kHeaderSize);
}

}  // namespace keel::batch
