#include "common/kafka_topic_configs.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

namespace keel::transport {
namespace {

// The retention strategies cleanup.policy stands for (strategy names as
// data: the kernel resolves them like any name in the TOML file).
constexpr const char* kTime = "time";
constexpr const char* kSize = "size";
constexpr const char* kCompaction = "compaction";
const std::vector<std::string> kDeletePolicy = {kTime, kSize};
const std::vector<std::string> kCompactPolicy = {kCompaction};
const std::vector<std::string> kBothPolicies = {kCompaction, kTime, kSize};

// Kafka's "no limit" for flush.messages and flush.ms (Long.MAX_VALUE).
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

enum class Type { kInteger, kRatio, kBoolean };

// A Kafka config that is one Keel setting.
struct Row {
  const char* kafka;
  const char* keel;      // key of a [topics.<name>] table
  const char* strategy;  // the retention strategy that reads it; nullptr: the topic's own key
  const char* fallback;  // the strategy's built-in default (docs/configuration.md) when no table sets it
  int64_t min;           // Kafka's least value (-1: "unlimited" is allowed)
  Type type;
};
constexpr Row kRows[] = {
    {"segment.bytes", "segment_bytes", nullptr, nullptr, 1024, Type::kInteger},
    {"segment.ms", "segment_ms", nullptr, nullptr, 1, Type::kInteger},
    {"max.message.bytes", "max_batch_bytes", nullptr, nullptr, 64, Type::kInteger},
    // acks=all's in-sync replicas (a cluster; a single node has one copy).
    {"min.insync.replicas", "min_insync_replicas", nullptr, nullptr, 1, Type::kInteger},
    // Kafka's preallocate sizes each new segment file up front, as Keel's does.
    {"preallocate", "preallocate", nullptr, nullptr, 0, Type::kBoolean},
    {"retention.ms", "plugins.time.retention_ms", kTime, "604800000", -1, Type::kInteger},
    {"retention.bytes", "plugins.size.retention_bytes", kSize, "-1", -1, Type::kInteger},
    {"min.compaction.lag.ms", "plugins.compaction.min_compaction_lag_ms", kCompaction, "0", 0,
     Type::kInteger},
    {"delete.retention.ms", "plugins.compaction.delete_retention_ms", kCompaction, "86400000", 0,
     Type::kInteger},
    {"min.cleanable.dirty.ratio", "plugins.compaction.min_cleanable_dirty_ratio", kCompaction, "0.5", 0,
     Type::kRatio},
};

// Kafka configs with one value on Keel: accepted when given that value,
// reported read-only.
struct Fixed {
  const char* kafka;
  const char* value;
  const char* why;
};
constexpr Fixed kFixed[] = {
    {"message.timestamp.type", "CreateTime", "Keel keeps the producer's timestamps"},
    {"compression.type", "producer", "Keel stores batches as the producer compressed them"},
};

constexpr const char* kCleanupPolicy = "cleanup.policy";
constexpr const char* kFlushMessages = "flush.messages";
constexpr const char* kFlushMs = "flush.ms";

using Settings = std::map<std::string, sdk::TopicSetting>;

Settings by_key(const std::vector<sdk::TopicSetting>& v) {
  Settings out;
  for (const auto& s : v) out[s.key] = s;
  return out;
}

std::vector<std::string> strings_of(const std::string& json) {
  std::vector<std::string> out;
  const auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

std::string text_of(const std::string& json) {
  const auto j = nlohmann::json::parse(json, nullptr, false);
  return j.is_string() ? j.get<std::string>() : json;
}

bool has(const std::vector<std::string>& v, const char* s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string policy_of(const std::vector<std::string>& retention) {
  const bool compact = has(retention, kCompaction);
  const bool del = has(retention, kTime) || has(retention, kSize);
  if (compact && del) return "compact,delete";
  // No retention at all keeps everything: "delete" with no limits, which is
  // what retention.ms/retention.bytes = -1 then say.
  return compact ? "compact" : "delete";
}

std::optional<std::vector<std::string>> retention_for_policy(const std::string& value) {
  std::set<std::string> parts;
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(',', start);
    if (end == std::string::npos) end = value.size();
    std::string p = value.substr(start, end - start);
    std::erase(p, ' ');
    if (p != "delete" && p != "compact") return std::nullopt;
    parts.insert(p);
    start = end + 1;
  }
  if (parts.size() == 2) return kBothPolicies;
  return parts.count("compact") ? kCompactPolicy : kDeletePolicy;
}

std::optional<int64_t> integer(const std::string& s) {
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return n;
}

std::optional<double> ratio(const std::string& s) {
  double d = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || d < 0 || d > 1) return std::nullopt;
  return d;
}

std::optional<bool> boolean(const std::string& s) {
  if (s == "true") return true;
  if (s == "false") return false;
  return std::nullopt;
}

bool valid(const Row& r, const std::string& value) {
  switch (r.type) {
    case Type::kRatio:
      return ratio(value).has_value();
    case Type::kBoolean:
      return boolean(value).has_value();
    case Type::kInteger:
      break;
  }
  return integer(value) && *integer(value) >= r.min;
}

std::string expected(const Row& r) {
  switch (r.type) {
    case Type::kRatio:
      return "a number from 0 to 1";
    case Type::kBoolean:
      return "true or false";
    case Type::kInteger:
      break;
  }
  return r.min == -1 ? std::string("an integer, -1 for no limit") : "an integer >= " + std::to_string(r.min);
}

// The TOML value of a checked config value (JSON is also TOML).
std::string toml_value(const Row& r, const std::string& value) {
  if (r.type == Type::kRatio) return nlohmann::json(*ratio(value)).dump();
  if (r.type == Type::kBoolean) return value;
  return std::to_string(*integer(value));
}

std::string bad_value(const std::string& name, const std::string& value, const std::string& expected) {
  return "topic config '" + name + "=" + value + "' is invalid: " + name + " must be " + expected;
}

}  // namespace

bool is_list_config(const std::string& name) { return name == kCleanupPolicy; }

std::string supported_kafka_topic_configs() {
  std::string out = "cleanup.policy (delete, compact or compact,delete), flush.messages, flush.ms";
  for (const auto& r : kRows) out += std::string(", ") + r.kafka;
  for (const auto& f : kFixed) out += std::string(", ") + f.kafka + " (" + f.value + " only)";
  return out;
}

std::vector<KafkaTopicConfig> kafka_topic_configs(const std::vector<sdk::TopicSetting>& settings) {
  const Settings s = by_key(settings);
  const auto value = [&](const char* key) { return s.count(key) ? s.at(key).value : std::string(); };
  const auto own = [&](const char* key) { return s.count(key) != 0 && s.at(key).own; };
  const std::vector<std::string> retention = strings_of(value("retention"));
  std::vector<KafkaTopicConfig> out;
  out.push_back({kCleanupPolicy, policy_of(retention), own("retention"), false});
  for (const auto& r : kRows) {
    if (r.strategy == nullptr) {
      out.push_back({r.kafka, value(r.keel), own(r.keel), false});
    } else if ((r.strategy == std::string(kTime) || r.strategy == std::string(kSize)) &&
               !has(retention, r.strategy)) {
      out.push_back({r.kafka, "-1", false, false});  // nothing deletes by it
    } else {
      out.push_back({r.kafka, s.count(r.keel) ? value(r.keel) : r.fallback, own(r.keel), false});
    }
  }
  const std::string mode = text_of(value("flush_mode"));
  const bool flush_own = own("flush_mode") || own("flush_messages") || own("flush_interval_ms");
  std::string messages = std::to_string(kNever), ms = std::to_string(kNever);  // "os"
  if (mode == "every-batch") {
    messages = "1";
    ms = "0";
  } else if (mode == "interval") {
    messages = value("flush_messages");
    ms = value("flush_interval_ms");
  }
  out.push_back({kFlushMessages, messages, flush_own, false});
  out.push_back({kFlushMs, ms, flush_own, false});
  for (const auto& f : kFixed) out.push_back({f.kafka, f.value, false, true});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

std::optional<std::string> keel_topic_settings(const std::vector<sdk::TopicSetting>& current,
                                               const std::vector<sdk::TopicSetting>& defaults,
                                               const KafkaConfigChanges& changes, bool replace_all,
                                               std::string* error) {
  std::map<std::string, std::string> own;  // key -> TOML value
  for (const auto& s : current) {
    if (s.own) own[s.key] = s.value;
  }
  const auto named = [&](const char* kafka) { return replace_all || changes.count(kafka) != 0; };
  const auto given = [&](const char* kafka) -> std::optional<std::string> {
    auto it = changes.find(kafka);
    return it == changes.end() ? std::nullopt : it->second;
  };

  // Refusals first, so that nothing is half-translated.
  std::set<std::string> known = {kCleanupPolicy, kFlushMessages, kFlushMs};
  for (const auto& r : kRows) known.insert(r.kafka);
  for (const auto& [name, value] : changes) {
    for (const auto& f : kFixed) {
      if (name == f.kafka && value && *value != f.value) {
        *error = "topic config '" + name + "=" + *value + "' is not supported: Keel serves only " + name +
                 "=" + f.value + " (" + f.why + ")";
        return std::nullopt;
      }
    }
    // (A copy: clang 14 cannot capture a structured binding in a lambda.)
    const std::string& config = name;
    if (known.count(name) == 0 && std::none_of(std::begin(kFixed), std::end(kFixed),
                                               [&](const Fixed& f) { return config == f.kafka; })) {
      *error = "topic config '" + name + (value ? "=" + *value : std::string()) +
               "' is not supported by Keel; it accepts " + supported_kafka_topic_configs() +
               " (other settings go in the broker's TOML file, see docs/configuration.md)";
      return std::nullopt;
    }
  }

  // cleanup.policy -> the retention strategies.
  if (named(kCleanupPolicy)) own.erase("retention");
  if (auto v = given(kCleanupPolicy)) {
    auto list = retention_for_policy(*v);
    if (!list) {
      *error = bad_value(kCleanupPolicy, *v, "delete, compact or compact,delete");
      return std::nullopt;
    }
    own["retention"] = nlohmann::json(*list).dump();
  }
  std::vector<std::string> retention;
  if (own.count("retention")) {
    retention = strings_of(own["retention"]);
  } else {
    for (const auto& d : defaults) {
      if (d.key == "retention") retention = strings_of(d.value);
    }
  }
  // A built-in retention strategy the topic no longer uses takes its
  // settings with it (the kernel refuses settings for a strategy the topic
  // does not use).
  for (const char* s : {kTime, kSize, kCompaction}) {
    if (has(retention, s)) continue;
    const std::string prefix = std::string("plugins.") + s + ".";
    std::erase_if(own, [&](const auto& kv) { return kv.first.starts_with(prefix); });
  }

  for (const auto& r : kRows) {
    if (named(r.kafka)) own.erase(r.keel);
    auto v = given(r.kafka);
    if (!v) continue;
    if (!valid(r, *v)) {
      *error = bad_value(r.kafka, *v, expected(r));
      return std::nullopt;
    }
    // Kafka ignores the settings of a policy the topic does not have
    // (retention.ms on a compact-only topic): so does Keel.
    if (r.strategy != nullptr && !has(retention, r.strategy)) continue;
    own[r.keel] = toml_value(r, *v);
  }

  // flush.messages / flush.ms -> flush_mode and its settings: 1 message (or
  // 0 ms) is Keel's every-batch, Kafka's default "never" (Long.MAX_VALUE)
  // for both is os, anything else is interval.
  if (named(kFlushMessages) || named(kFlushMs)) own.erase("flush_mode");
  if (named(kFlushMessages)) own.erase("flush_messages");
  if (named(kFlushMs)) own.erase("flush_interval_ms");
  std::optional<int64_t> messages, ms;
  for (auto [name, out, least] :
       {std::tuple{kFlushMessages, &messages, int64_t{1}}, std::tuple{kFlushMs, &ms, int64_t{0}}}) {
    if (auto v = given(name)) {
      *out = integer(*v);
      if (!*out || **out < least) {
        *error =
            bad_value(name, *v, "an integer >= " + std::to_string(least) + " (9223372036854775807: never)");
        return std::nullopt;
      }
    }
  }
  if (messages || ms) {
    if (messages == 1 || ms == 0) {
      own["flush_mode"] = "\"every-batch\"";
    } else if (messages.value_or(kNever) == kNever && ms.value_or(kNever) == kNever) {
      own["flush_mode"] = "\"os\"";
    } else {
      own["flush_mode"] = "\"interval\"";
      if (messages) own["flush_messages"] = std::to_string(*messages);
      if (ms) own["flush_interval_ms"] = std::to_string(*ms);
    }
  }

  std::string toml;
  for (const auto& [key, value] : own) toml += key + " = " + value + "\n";
  return toml;
}

}  // namespace keel::transport
