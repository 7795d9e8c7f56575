#include "storage/batch_validator.hpp"

#include <utility>

namespace keel {
namespace {

namespace kb = batch;

// A thread keeps its decompression buffer between batches up to this size;
// past it the buffer is given back, so one outsized batch does not pin its
// memory in every producing thread.
constexpr size_t kKeepBufferBytes = size_t{8} << 20;

// Most record fields are one-byte varints (small lengths and deltas): decode
// those inline and leave the rest to the SDK's bounds-checked reader. Halves
// the cost of walking 100-byte records.
template <class Int, bool (*General)(const uint8_t*&, const uint8_t*, Int&)>
inline bool read_varint(const uint8_t*& p, const uint8_t* end, Int& out) {
  if (p != end && *p < 0x80) {
    out = static_cast<Int>((*p >> 1) ^ -(*p & 1));
    ++p;
    return true;
  }
  return General(p, end, out);
}

constexpr auto fast_varint64 = read_varint<int64_t, kb::get_varint>;
constexpr auto fast_varint32 = read_varint<int32_t, kb::get_varint32>;

BatchProblem invalid(int32_t record, std::string what) {
  return BatchProblem{KEEL_ERR_INVALID_ARGUMENT, record, std::move(what)};
}

// Walks the records section of one batch in place, as Kafka's DefaultRecord
// reads it, checking every length against the bytes that are really there.
class RecordWalker {
 public:
  RecordWalker(const uint8_t* begin, const uint8_t* end, bool requires_keys)
      : p_(begin), end_(end), requires_keys_(requires_keys) {}

  BatchProblem walk(int32_t count) {
    for (index_ = 0; index_ < count; ++index_) {
      if (p_ == end_) {
        fail("the batch says it holds " + std::to_string(count) + " records but its bytes end after " +
             std::to_string(index_));
        return std::move(problem_);
      }
      if (!record()) return std::move(problem_);
    }
    if (p_ != end_) {
      index_ = -1;
      fail(std::to_string(end_ - p_) + " bytes left over after the last of its " + std::to_string(count) +
           " records");
      return std::move(problem_);
    }
    return {};
  }

 private:
  bool record() {
    int32_t length = 0;
    if (!varint32(p_, end_, length, "record length")) return false;
    if (length < 0) return fail("record length " + std::to_string(length) + " is negative");
    if (static_cast<size_t>(length) > static_cast<size_t>(end_ - p_)) {
      return fail("record length " + std::to_string(length) + " runs " +
                  std::to_string(static_cast<size_t>(length) - static_cast<size_t>(end_ - p_)) +
                  " bytes past the end of the batch's records");
    }
    const uint8_t* q = p_;
    const uint8_t* end = p_ + length;
    // The attributes byte: unused in v2 and not checked, as in Kafka.
    if (q == end) return fail("record length is 0: a record holds at least its attributes byte");
    ++q;
    int64_t timestamp_delta = 0;
    if (!fast_varint64(q, end, timestamp_delta)) {
      return fail("timestamp delta varlong is malformed or runs past the record");
    }
    int32_t offset_delta = 0;
    if (!varint32(q, end, offset_delta, "offset delta")) return false;
    // Keel stores batches as sent, so a record's offset is base + delta:
    // deltas other than 0, 1, 2, ... would give consumers offsets out of
    // order, duplicated or past the batch's last offset.
    if (offset_delta != index_) {
      return fail("offset delta " + std::to_string(offset_delta) + " where " + std::to_string(index_) +
                  " is expected: the records' offset deltas must run 0, 1, 2, ... in order");
    }
    bool null_key = false;
    if (!bytes(q, end, "key", true, &null_key)) return false;
    if (null_key && requires_keys_) {
      return fail("the record has a null key and the topic is compacted: give every record a key");
    }
    if (!bytes(q, end, "value", true, nullptr)) return false;
    int32_t headers = 0;
    if (!varint32(q, end, headers, "header count")) return false;
    if (headers < 0) return fail("header count " + std::to_string(headers) + " is negative");
    // Bounded by the bytes: every header takes at least two.
    for (int32_t i = 0; i < headers; ++i) {
      if (!bytes(q, end, "header key", false, nullptr) || !bytes(q, end, "header value", true, nullptr)) {
        problem_.what += " (header " + std::to_string(i) + " of " + std::to_string(headers) + ")";
        return false;
      }
    }
    if (q != end) {
      return fail("record length says " + std::to_string(length) + " bytes but its fields take " +
                  std::to_string(q - p_));
    }
    p_ = end;
    return true;
  }

  // The checks run once per field of every record: the hot paths stay small
  // enough to inline, and the messages are built out of line.
  bool varint32(const uint8_t*& p, const uint8_t* end, int32_t& out, const char* what) {
    if (fast_varint32(p, end, out)) [[likely]]
      return true;
    return bad_varint(what, p == p_);
  }

  // A length-prefixed byte string; -1 is null where `nullable`.
  bool bytes(const uint8_t*& p, const uint8_t* end, const char* what, bool nullable, bool* is_null) {
    int32_t n = 0;
    if (!varint32(p, end, n, what)) return false;
    if (n >= 0 && static_cast<size_t>(n) <= static_cast<size_t>(end - p)) [[likely]] {
      p += n;
      return true;
    }
    if (n == -1 && nullable) {
      if (is_null != nullptr) *is_null = true;
      return true;
    }
    return bad_bytes(what, n, static_cast<size_t>(end - p), nullable);
  }

  [[gnu::cold, gnu::noinline]] bool bad_varint(const char* what, bool at_record_start) {
    return fail(std::string(what) + " varint is malformed, above 32 bits or cut short by the end of " +
                (at_record_start ? "the batch's records" : "the record"));
  }

  [[gnu::cold, gnu::noinline]] bool bad_bytes(const char* what, int32_t n, size_t left, bool nullable) {
    if (n < 0) {
      return fail(std::string(what) + " length " + std::to_string(n) + " is invalid" +
                  (nullable ? " (only -1, null, may be negative)" : " (it cannot be null)"));
    }
    return fail(std::string(what) + " of " + std::to_string(n) + " bytes runs " +
                std::to_string(static_cast<size_t>(n) - left) + " bytes past the end of the record");
  }

  [[gnu::cold, gnu::noinline]] bool fail(std::string what) {
    problem_ = invalid(index_, std::move(what));
    return false;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  bool requires_keys_;
  int32_t index_ = 0;
  BatchProblem problem_;
};

// The batch-header rules Kafka's LogValidator applies to client batches.
BatchProblem check_header(const kb::Header& h) {
  const int codec = static_cast<int>(h.compression());
  if (codec > static_cast<int>(kb::Compression::Zstd)) {
    return invalid(-1, "compression codec " + std::to_string(codec) +
                           " is unknown (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)");
  }
  if (h.control()) {
    return invalid(-1, "the control bit (attributes bit 5) is set: clients cannot write control batches");
  }
  if (h.records_count <= 0) {
    return invalid(
        -1, "records count " + std::to_string(h.records_count) + ": a batch needs at least one record");
  }
  // The log end moves by lastOffsetDelta + 1: it must match the records.
  if (static_cast<int64_t>(h.last_offset_delta) != static_cast<int64_t>(h.records_count) - 1) {
    return invalid(-1, "last offset delta " + std::to_string(h.last_offset_delta) + " does not match its " +
                           std::to_string(h.records_count) + " record(s) (it must be " +
                           std::to_string(h.records_count - 1) + ")");
  }
  if (h.producer_id >= 0 && h.base_sequence < 0) {
    return invalid(-1, "base sequence " + std::to_string(h.base_sequence) + " is invalid for producer id " +
                           std::to_string(h.producer_id));
  }
  return {};
}

}  // namespace

BatchProblem check_produced_batch(const kb::Header& h, const uint8_t* data, const BatchRules& rules) {
  if (BatchProblem p = check_header(h); !p.ok()) return p;
  const uint8_t* records = data + kb::kHeaderSize;
  const size_t len = h.total_size() - kb::kHeaderSize;
  if (h.compression() == kb::Compression::None) {
    return RecordWalker(records, records + len, rules.requires_keys).walk(h.records_count);
  }
  // Owned by this thread; holds one batch's records only during this call.
  thread_local std::string plain;
  struct Trim {
    ~Trim() {
      if (plain.capacity() > kKeepBufferBytes) std::string().swap(plain);
    }
  } trim;
  try {
    codec::decompress_into(h.compression(), records, len, plain, rules.max_decompressed);
  } catch (const sdk::Error& e) {
    return BatchProblem{KEEL_ERR_CORRUPT, -1, e.what()};
  }
  const auto* begin = reinterpret_cast<const uint8_t*>(plain.data());
  return RecordWalker(begin, begin + plain.size(), rules.requires_keys).walk(h.records_count);
}

}  // namespace keel
