// The built-in index strategies (sparse-mmap, timestamp) with small
// settings, for storage tests that run each case with and without indexes.
// The registry and settings must outlive every log opened with them.
#pragma once

#include <keel/plugin.h>

#include <memory>
#include <string_view>

#include "common/clock.hpp"
#include "plugins/plugin_config.hpp"
#include "plugins/plugin_registry.hpp"
#include "storage/partition_log.hpp"

namespace keel::test {

class BuiltinIndexes {
 public:
  explicit BuiltinIndexes(const Clock* clock) : registry_({KEEL_TEST_PLUGIN_DIR}, clock) {
    doc_ = std::make_shared<toml::table>(
        toml::parse("interval_bytes = 100\nmax_index_bytes = 4096", std::string_view("test.toml")));
    cfg_.settings.tables = {doc_.get()};
    cfg_.settings.table_names = {"[test]"};
  }

  // Adds both strategies to `options` when `on` (the test's parameter).
  void add_to(LogOptions& options, bool on) {
    if (!on) return;
    options.indexes.push_back({registry_.require(KEEL_KIND_INDEX, "sparse-mmap"), &cfg_});
    options.indexes.push_back({registry_.require(KEEL_KIND_INDEX, "timestamp"), &cfg_});
  }

 private:
  PluginRegistry registry_;
  std::shared_ptr<toml::table> doc_;
  keel_config cfg_;
};

}  // namespace keel::test
