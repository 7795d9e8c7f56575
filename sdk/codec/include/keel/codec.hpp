// Compression codecs for the records section of Kafka RecordBatch v2:
// gzip, snappy, lz4 and zstd, in the byte formats real clients write and
// read. Shared by the kernel and by plugins (link Keel::codec); the codecs
// themselves are the system zlib, snappy, liblz4 and libzstd.
//
// Errors are keel::sdk::Error: KEEL_ERR_CORRUPT for malformed or truncated
// compressed bytes and for output beyond the size cap, KEEL_ERR_UNSUPPORTED
// for codec ids Kafka does not define (5-7), KEEL_ERR_INVALID_ARGUMENT for
// bad arguments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <keel/record_batch.hpp>
#include <string>
#include <vector>

namespace keel::codec {

// A batch's records rarely exceed a few MiB (clients cap batches at 1 MiB
// by default); anything that inflates past this is treated as a
// decompression bomb rather than allocated.
constexpr size_t kDefaultMaxDecompressedSize = size_t{64} << 20;

// Decompresses the records section of a batch (the bytes after the 61-byte
// header) compressed with `c`. Compression::None returns the bytes as they
// are. Accepts both snappy framings: the raw block librdkafka writes and the
// xerial framing of the Java client and kafka-python; concatenated gzip
// members, lz4 frames and zstd frames are decoded in sequence.
std::string decompress(batch::Compression c, const uint8_t* data, size_t len,
                       size_t max_size = kDefaultMaxDecompressedSize);

// Like decompress, into `out`, which ends up holding exactly the
// decompressed bytes. The bytes `out` already holds are reused as room, so a
// caller that keeps one string per thread allocates nothing once it has
// grown to its largest batch. On error `out` holds garbage.
void decompress_into(batch::Compression c, const uint8_t* data, size_t len, std::string& out,
                     size_t max_size = kDefaultMaxDecompressedSize);

// Compresses a records section with `c` in the format Kafka clients expect
// to read: a gzip stream, xerial-framed snappy (as the Java client writes
// it), an lz4 frame (64 KiB independent blocks, as librdkafka writes it), a
// zstd frame. Compression::None returns the bytes as they are.
std::string compress(batch::Compression c, const uint8_t* data, size_t len);

// All records of one batch whatever its codec: validates it (CRC, length,
// magic), then decompresses and decodes the records section.
std::vector<batch::Record> decode_batch(const uint8_t* batch, size_t len,
                                        size_t max_size = kDefaultMaxDecompressedSize);

// Builds a batch like keel::batch::Builder (offsets base_offset + index,
// record offsets ignored) but with its records section compressed with `c`.
// Throws KEEL_ERR_INVALID_ARGUMENT if `records` is empty.
std::string build_batch(const std::vector<batch::Record>& records, batch::Compression c,
                        int64_t base_offset = 0, int64_t producer_id = -1, int16_t producer_epoch = -1,
                        int32_t base_sequence = -1);

// What filter_batch did with a batch.
struct FilteredBatch {
  enum class Outcome {
    KeptAll,  // every record kept: write the original bytes, `batch` is empty
    Rebuilt,  // some records kept: `batch` holds the rebuilt batch
    Emptied,  // none kept: `batch` is empty, or the header-only batch if asked
  };
  Outcome outcome = Outcome::KeptAll;
  std::string batch;
  size_t kept = 0;
  size_t removed = 0;
};

// Keeps the records of one stored batch for which keep() is true, the way
// Kafka's log cleaner rebuilds batches: same base offset, lastOffsetDelta,
// codec, timestamp type, transactional flag, partition leader epoch and
// producer id/epoch/base sequence; records keep their offsets (gaps are
// fine). With keep_empty_header, a batch left without records becomes a
// 61-byte header with no records, which keeps an idempotent producer's last
// sequence number in the log. Control batches are returned as KeptAll
// without calling keep(). Throws like decode_batch.
FilteredBatch filter_batch(const uint8_t* batch, size_t len,
                           const std::function<bool(const batch::Record&)>& keep,
                           bool keep_empty_header = false, size_t max_size = kDefaultMaxDecompressedSize);

}  // namespace keel::codec
