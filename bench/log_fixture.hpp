// A partition log in a fresh temp directory with the built-in sparse-mmap
// and timestamp indexes, for benchmarks of the append and fetch paths.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "plugins/plugin_config.hpp"
#include "plugins/plugin_registry.hpp"
#include "storage/partition_log.hpp"

namespace keel::bench {

struct LogFixture {
  keel::SystemClock clock;
  keel::PluginRegistry registry{{KEEL_BENCH_PLUGIN_DIR}, &clock};
  keel_config settings;
  std::string dir;
  std::unique_ptr<keel::PartitionLog> log;

  LogFixture() {
    dir = (std::filesystem::temp_directory_path() / ("keel-bench-" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(dir);
    keel::LogOptions opts;
    opts.max_batch_bytes = 64 << 20;
    for (const char* name : {"sparse-mmap", "timestamp"}) {
      opts.indexes.push_back({registry.require(KEEL_KIND_INDEX, name), &settings});
    }
    log = std::make_unique<keel::PartitionLog>("bench", 0, dir, opts, &clock);
    log->open(true, 0);
  }
  ~LogFixture() {
    log->close();
    log.reset();
    std::filesystem::remove_all(dir);
  }
};

}  // namespace keel::bench
