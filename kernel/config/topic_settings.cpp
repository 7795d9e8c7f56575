#include "config/topic_settings.hpp"

#include <algorithm>
#include <set>
#include <sstream>

namespace keel {
namespace {

// One line of JSON: the formatter breaks arrays over lines, and JSON
// strings never hold a raw newline, so every newline is layout.
std::string json_of(const toml::node& n) {
  std::ostringstream os;
  n.visit([&](const auto& v) { os << toml::json_formatter{v, toml::format_flags::none}; });
  std::string out = os.str();
  std::erase(out, '\n');
  return out;
}

std::string json_string(const std::string& s) { return json_of(toml::value<std::string>(s)); }

std::string json_strings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + json_string(v[i]);
  return out + "]";
}

}  // namespace

std::vector<TopicSetting> topic_settings(const TopicConfig& c) {
  const auto own = [&](const char* key) { return c.own_table != nullptr && c.own_table->contains(key); };
  std::vector<TopicSetting> out = {
      {"partitions", std::to_string(c.partitions), own("partitions")},
      {"segment_bytes", std::to_string(c.segment_bytes), own("segment_bytes")},
      {"segment_ms", std::to_string(c.segment_ms), own("segment_ms")},
      {"max_batch_bytes", std::to_string(c.max_batch_bytes), own("max_batch_bytes")},
      {"flush_mode", json_string(to_string(c.flush_mode)), own("flush_mode")},
      {"flush_interval_ms", std::to_string(c.flush_interval_ms), own("flush_interval_ms")},
      {"flush_messages", std::to_string(c.flush_messages), own("flush_messages")},
      {"recycle_segments", c.recycle_segments ? "true" : "false", own("recycle_segments")},
      {"preallocate", c.preallocate ? "true" : "false", own("preallocate")},
      {"index", json_strings(c.index), own("index")},
      {"retention", json_strings(c.retention), own("retention")},
      {"partitioner", json_string(c.partitioner), own("partitioner")},
      {"min_insync_replicas", std::to_string(c.min_insync_replicas), own("min_insync_replicas")},
      {"replication_factor", std::to_string(c.replication_factor), own("replication_factor")},
  };
  for (const auto& [strategy, chain] : c.plugin_settings) {
    std::set<std::string> seen;
    for (size_t i = 0; i < chain.tables.size(); ++i) {
      if (chain.tables[i] == nullptr) continue;
      for (const auto& [k, node] : *chain.tables[i]) {
        const std::string key(k.str());
        if (!seen.insert(key).second) continue;
        out.push_back({"plugins." + toml_key(strategy) + "." + toml_key(key), json_of(node), i == 0});
      }
    }
  }
  return out;
}

}  // namespace keel
