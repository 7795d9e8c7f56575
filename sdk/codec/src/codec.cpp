// Dispatch on the codec id, and the batch-level helpers built on it.
#include <keel/codec.hpp>
#include <keel/plugin.hpp>
#include <limits>

#include "codecs.hpp"

namespace keel::codec {
namespace {

namespace kb = keel::batch;

[[noreturn]] void unknown_codec(kb::Compression c) {
  throw sdk::Error(KEEL_ERR_UNSUPPORTED,
                   "compression codec id " + std::to_string(static_cast<int>(c)) +
                       " is not one Kafka defines (0 none, 1 gzip, 2 snappy, 3 lz4, "
                       "4 zstd); the batch attributes are corrupt or from a newer client");
}

void check_input(const uint8_t* data, size_t len) {
  if (data == nullptr && len > 0) throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "codec: null data pointer");
}

}  // namespace

void decompress_into(kb::Compression c, const uint8_t* data, size_t len, std::string& out, size_t max_size) {
  check_input(data, len);
  switch (c) {
    case kb::Compression::None:
      out.assign(reinterpret_cast<const char*>(data), len);
      return;
    case kb::Compression::Gzip:
      return detail::gzip_decompress(data, len, max_size, out);
    case kb::Compression::Snappy:
      return detail::snappy_decompress(data, len, max_size, out);
    case kb::Compression::Lz4:
      return detail::lz4_decompress(data, len, max_size, out);
    case kb::Compression::Zstd:
      return detail::zstd_decompress(data, len, max_size, out);
  }
  unknown_codec(c);
}

std::string decompress(kb::Compression c, const uint8_t* data, size_t len, size_t max_size) {
  std::string out;
  decompress_into(c, data, len, out, max_size);
  return out;
}

std::string compress(kb::Compression c, const uint8_t* data, size_t len) {
  check_input(data, len);
  if (len > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "codec: records section of " + std::to_string(len) +
                                                    " bytes exceeds Kafka's 2 GiB batch limit; split it");
  }
  switch (c) {
    case kb::Compression::None:
      return std::string(reinterpret_cast<const char*>(data), len);
    case kb::Compression::Gzip:
      return detail::gzip_compress(data, len);
    case kb::Compression::Snappy:
      return detail::snappy_compress(data, len);
    case kb::Compression::Lz4:
      return detail::lz4_compress(data, len);
    case kb::Compression::Zstd:
      return detail::zstd_compress(data, len);
  }
  unknown_codec(c);
}

std::vector<kb::Record> decode_batch(const uint8_t* batch, size_t len, size_t max_size) {
  const std::string problem = kb::validate(batch, len);
  if (!problem.empty()) throw sdk::Error(KEEL_ERR_CORRUPT, "invalid record batch: " + problem);
  const kb::Header h = *kb::parse_header(batch, len);
  const uint8_t* records = batch + kb::kHeaderSize;
  const size_t records_len = h.total_size() - kb::kHeaderSize;
  if (h.compression() == kb::Compression::None) return kb::decode_records(h, records, records_len);
  std::string plain;
  try {
    plain = decompress(h.compression(), records, records_len, max_size);
  } catch (const sdk::Error& e) {
    throw sdk::Error(e.code(),
                     std::string(e.what()) + " (batch at offset " + std::to_string(h.base_offset) + ")");
  }
  return kb::decode_records(h, reinterpret_cast<const uint8_t*>(plain.data()), plain.size());
}

namespace {

// Re-frames an uncompressed batch: same header, compressed records, then
// the fields that depend on them (length, codec bits, CRC).
std::string compress_batch(std::string batch, kb::Compression c) {
  if (c == kb::Compression::None) return batch;
  const std::string packed = compress(c, reinterpret_cast<const uint8_t*>(batch.data()) + kb::kHeaderSize,
                                      batch.size() - kb::kHeaderSize);
  batch.resize(kb::kHeaderSize);
  batch += packed;
  if (batch.size() - kb::kLogOverhead > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "compressed record batch of " + std::to_string(batch.size()) +
                                                    " bytes exceeds the 2 GiB batch length limit; split it");
  }
  auto* h = reinterpret_cast<uint8_t*>(batch.data());
  using kb::detail::load_be;
  using kb::detail::store_be;
  store_be<int32_t>(h + kb::kLengthPos, static_cast<int32_t>(batch.size() - kb::kLogOverhead));
  store_be<int16_t>(h + kb::kAttributesPos,
                    static_cast<int16_t>(load_be<int16_t>(h + kb::kAttributesPos) | static_cast<int16_t>(c)));
  store_be<uint32_t>(h + kb::kCrcPos, kb::compute_crc(h, batch.size()));
  return batch;
}

// A batch with no records that keeps the original's offsets, timestamps and
// producer fields; no codec bits, since there is nothing to decompress.
std::string empty_header(const uint8_t* original) {
  std::string out(reinterpret_cast<const char*>(original), kb::kHeaderSize);
  auto* h = reinterpret_cast<uint8_t*>(out.data());
  using kb::detail::load_be;
  using kb::detail::store_be;
  store_be<int32_t>(h + kb::kLengthPos, kb::kMinBatchLength);
  store_be<int16_t>(h + kb::kAttributesPos,
                    static_cast<int16_t>(load_be<int16_t>(h + kb::kAttributesPos) & ~kb::kCompressionMask));
  store_be<int32_t>(h + kb::kRecordsCountPos, 0);
  store_be<uint32_t>(h + kb::kCrcPos, kb::compute_crc(h, out.size()));
  return out;
}

}  // namespace

std::string build_batch(const std::vector<kb::Record>& records, kb::Compression c, int64_t base_offset,
                        int64_t producer_id, int16_t producer_epoch, int32_t base_sequence) {
  kb::Builder builder(base_offset);
  builder.producer(producer_id, producer_epoch, base_sequence);
  for (const auto& r : records) builder.add(r);
  return compress_batch(builder.build(), c);
}

FilteredBatch filter_batch(const uint8_t* data, size_t len,
                           const std::function<bool(const kb::Record&)>& keep, bool keep_empty_header,
                           size_t max_size) {
  FilteredBatch out;
  std::vector<kb::Record> records = decode_batch(data, len, max_size);
  const kb::Header h = *kb::parse_header(data, len);
  if (h.control()) {
    out.kept = records.size();
    return out;
  }
  std::vector<const kb::Record*> kept;
  kept.reserve(records.size());
  for (const auto& r : records) {
    if (keep(r)) kept.push_back(&r);
  }
  out.kept = kept.size();
  out.removed = records.size() - kept.size();
  if (out.removed == 0) return out;
  if (kept.empty()) {
    out.outcome = FilteredBatch::Outcome::Emptied;
    if (keep_empty_header) out.batch = empty_header(data);
    return out;
  }
  kb::Builder builder(h.base_offset);
  builder.producer(h.producer_id, h.producer_epoch, h.base_sequence)
      .attributes(static_cast<int16_t>(h.attributes & ~kb::kCompressionMask))
      .partition_leader_epoch(h.partition_leader_epoch)
      .last_offset_delta(h.last_offset_delta);
  for (const auto* r : kept) builder.add_at(*r);
  out.outcome = FilteredBatch::Outcome::Rebuilt;
  out.batch = compress_batch(builder.build(), h.compression());
  return out;
}

}  // namespace keel::codec
