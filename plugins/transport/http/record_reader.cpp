#include "record_reader.hpp"

#include <algorithm>
#include <keel/codec.hpp>

#include "checked_broker.hpp"

namespace keel::web {

ReadResult read_records(const CheckedBroker& broker, const std::string& topic, int32_t partition,
                        int64_t offset, size_t max_records, int64_t max_bytes) {
  ReadResult out;
  out.next_offset = offset;
  out.watermarks = broker.watermarks(topic, partition);
  int64_t bytes = 0;
  while (out.records.size() < max_records && bytes < max_bytes &&
         out.next_offset < out.watermarks.high_watermark) {
    decltype(broker.fetch(topic, partition, 0, 0)) range;
    try {
      range = broker.fetch(topic, partition, out.next_offset, std::max<int64_t>(max_bytes - bytes, 1));
    } catch (const std::exception&) {
      // Records read so far are answered; the next request, starting where
      // this one stopped (damaged data, say), gets the error itself.
      if (out.next_offset > offset) break;
      throw;
    }
    out.watermarks = range->watermarks();
    if (range->result().length <= 0) break;
    const std::string data = read_range(*range);
    range.reset();
    bytes += static_cast<int64_t>(data.size());
    const int64_t before = out.next_offset;
    const auto* p = reinterpret_cast<const uint8_t*>(data.data());
    size_t pos = 0;
    bool full = false;
    while (!full && pos + batch::kHeaderSize <= data.size()) {
      const batch::Header h = *batch::parse_header(p + pos, data.size() - pos);
      if (h.batch_length < batch::kMinBatchLength || h.total_size() > data.size() - pos) break;
      if (h.base_offset >= out.watermarks.high_watermark) break;
      if (!h.control()) {
        for (auto& r : codec::decode_batch(p + pos, h.total_size())) {
          if (r.offset < out.next_offset) continue;
          if (r.offset >= out.watermarks.high_watermark || out.records.size() >= max_records) {
            full = true;
            break;
          }
          out.next_offset = r.offset + 1;
          out.records.push_back(std::move(r));
        }
      }
      // Offsets the batch covers without records (compaction, control
      // batches) are passed over too.
      if (!full) out.next_offset = std::max(out.next_offset, h.last_offset() + 1);
      pos += h.total_size();
    }
    if (out.next_offset == before) break;  // nothing usable: do not spin
  }
  out.next_offset = std::min(out.next_offset, std::max(offset, out.watermarks.high_watermark));
  return out;
}

}  // namespace keel::web
