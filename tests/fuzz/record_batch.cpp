// Fuzzes RecordBatch v2 checking and decoding, as the kernel runs it on
// produced and stored bytes: batch::validate, batch::parse_header,
// batch::decode and codec::decode_batch / filter_batch (any codec). The
// input is tried as it is, then "sealed" (its length field and CRC made to
// match), so that mutations reach the records past the CRC check.
// A malformed batch must end in keel::sdk::Error; anything else escaping
// (std::bad_alloc, std::length_error) is a bug, and so is a filtered
// rebuild that is invalid or does not hold the kept records.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <keel/codec.hpp>
#include <keel/plugin.hpp>
#include <keel/record_batch.hpp>
#include <string>

#include "storage/batch_validator.hpp"

namespace {

namespace kb = keel::batch;
constexpr size_t kMaxDecompressed = size_t{1} << 20;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "record_batch fuzzer: %s\n", what);
    std::abort();
  }
}

void decode_all(const uint8_t* data, size_t size) {
  const bool intact = kb::validate(data, size).empty();
  (void)kb::parse_header(data, size);
  // A batch the produce validation accepts must decode, records and all:
  // consumers would otherwise be handed a batch they cannot read.
  if (intact) {
    const auto h = *kb::parse_header(data, size);
    if (keel::check_produced_batch(h, data, keel::BatchRules{false}).ok()) {
      try {
        const auto records = keel::codec::decode_batch(data, h.total_size(), size_t{64} << 20);
        check(records.size() == static_cast<size_t>(h.records_count),
              "a validated batch decodes to fewer records");
      } catch (const keel::sdk::Error& e) {
        std::fprintf(stderr, "validated batch does not decode: %s\n", e.what());
        std::abort();
      }
    }
  }
  try {
    (void)kb::decode(data, size);
  } catch (const keel::sdk::Error&) {
  }
  std::vector<kb::Record> records;
  try {
    records = keel::codec::decode_batch(data, size, kMaxDecompressed);
  } catch (const keel::sdk::Error&) {
    return;
  }
  // Keep every other record: the rebuilt batch must be valid and hold
  // exactly those records.
  size_t index = 0;
  keel::codec::FilteredBatch f;
  try {
    f = keel::codec::filter_batch(
        data, size, [&index](const kb::Record&) { return index++ % 2 == 0; }, true, kMaxDecompressed);
  } catch (const keel::sdk::Error&) {
    // Refusing is fine: decode_batch reads records whose offsets do not
    // ascend, which a rebuilt batch cannot hold.
    return;
  }
  if (f.outcome != keel::codec::FilteredBatch::Outcome::Rebuilt) return;
  const auto* rebuilt = reinterpret_cast<const uint8_t*>(f.batch.data());
  check(kb::validate(rebuilt, f.batch.size()).empty(), "filter_batch rebuilt an invalid batch");
  const auto kept = keel::codec::decode_batch(rebuilt, f.batch.size(), kMaxDecompressed);
  check(kept.size() == f.kept, "the rebuilt batch does not hold the kept records");
  for (size_t i = 0; i < kept.size(); ++i) {
    check(kept[i].offset == records[2 * i].offset && kept[i].key == records[2 * i].key &&
              kept[i].value == records[2 * i].value,
          "a kept record changed in the rebuilt batch");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  decode_all(data, size);
  if (size < kb::kHeaderSize || size - kb::kLogOverhead > 0x7fffffff) return 0;
  std::string sealed(reinterpret_cast<const char*>(data), size);
  auto* p = reinterpret_cast<uint8_t*>(sealed.data());
  kb::detail::store_be<int32_t>(p + kb::kLengthPos, static_cast<int32_t>(size - kb::kLogOverhead));
  p[kb::kMagicPos] = static_cast<uint8_t>(kb::kMagic);
  kb::detail::store_be<uint32_t>(p + kb::kCrcPos, kb::compute_crc(p, size));
  decode_all(p, size);
  return 0;
}
