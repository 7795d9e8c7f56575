#include "producers/producer_ids.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include "common/error.hpp"
#include "common/file_util.hpp"

namespace keel {
namespace {

constexpr const char* kHeader = "keel-producer-ids 1";

// Before 2.1, the Kafka transport made ids from its start time in ms times
// 256. A data directory without the file may hold those ids in its logs (the
// floor covers them) or in live clients whose partitions expired them: start
// above any id that scheme could have made until now.
int64_t legacy_ceiling(const Clock& clock) { return (clock.now_ms() + 1) * 256; }

}  // namespace

ProducerIds::ProducerIds(std::string path, int64_t floor, const Clock& clock) : path_(std::move(path)) {
  std::ifstream in(path_);
  if (!in) {
    next_ = block_end_ = std::max(floor, legacy_ceiling(clock));
    spdlog::info("producer ids: no '{}' yet; ids start at {}", path_, next_);
    return;
  }
  std::string header;
  long long stored = -1;
  std::getline(in, header);
  in >> stored;
  if (header != kHeader || !in || stored < 0) {
    fail(KEEL_ERR_CORRUPT, "producer id file '" + path_ + "' is damaged (expected '" + kHeader +
                               "' and a number); to go on, replace it with that header and a number above "
                               "every producer id ever handed out (e.g. the current time in ms times 256)");
  }
  next_ = block_end_ = std::max<int64_t>(stored, floor);
  spdlog::info("producer ids: ids go on at {} (stored block end {}, highest id in the logs {})", next_,
               stored, floor - 1);
}

int64_t ProducerIds::allocate() {
  std::lock_guard lock(mu_);
  if (next_ == block_end_) {
    const int64_t end = block_end_ + kBlockSize;
    std::ostringstream content;
    content << kHeader << "\n" << end << "\n";
    try {
      write_file_atomically(path_, content.str());
    } catch (const Error& e) {
      fail(e.code(), "cannot hand out a producer id: reserving ids " + std::to_string(block_end_) + ".." +
                         std::to_string(end - 1) + " in '" + path_ + "' failed: " + e.what());
    }
    block_end_ = end;
  }
  return next_++;
}

int64_t ProducerIds::next() const {
  std::lock_guard lock(mu_);
  return next_;
}

}  // namespace keel
