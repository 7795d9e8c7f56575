#include "config/config.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <set>
#include <tuple>

#include "common/error.hpp"
#include "common/suggestion.hpp"
#include "config/toml_depth.hpp"
#include "plugins/plugin_config.hpp"

namespace keel {

const char* to_string(FlushMode mode) {
  switch (mode) {
    case FlushMode::EveryBatch:
      return "every-batch";
    case FlushMode::Interval:
      return "interval";
    case FlushMode::Os:
      return "os";
  }
  return "unknown";
}

const char* toml_type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

namespace {

const char* const kSeeDocs = " (see docs/configuration.md)";

const std::vector<std::string> kTopLevelKeys = {"broker",         "cluster", "authorizer",
                                                "topic_defaults", "topics",  "transports"};
const std::vector<std::string> kClusterKeys = {"broker_id",
                                               "cluster_id",
                                               "coordinator",
                                               "advertised_host",
                                               "rack",
                                               "default_replication_factor",
                                               "retry_backoff_ms",
                                               "replication_listen",
                                               "replication_advertised_port",
                                               "replica_lag_time_max_ms",
                                               "leader_rebalance_interval_ms"};
const std::vector<std::string> kBrokerKeys = {"data_dir",
                                              "plugin_path",
                                              "plugins",
                                              "auto_create_topics",
                                              "retention_check_ms",
                                              "recovery_checkpoint_ms",
                                              "producer_id_expiration_ms",
                                              "log_level",
                                              "queued_max_request_bytes",
                                              "writeback_bytes",
                                              "offsets_flush",
                                              "offsets_flush_interval_ms",
                                              "offsets_topic_partitions",
                                              "offsets_topic_segment_bytes",
                                              "offsets_topic_retention"};
const std::vector<std::string> kOffsetsFlushModes = {"commit", "interval"};
const std::vector<std::string> kTopicKeys = {
    "partitions",         "segment_bytes",     "segment_ms",     "max_batch_bytes",
    "flush_mode",         "flush_interval_ms", "flush_messages", "index",
    "retention",          "partitioner",       "plugins",        "min_insync_replicas",
    "replication_factor", "recycle_segments",  "preallocate"};
const std::vector<std::string> kFlushModes = {"every-batch", "interval", "os"};
const std::vector<std::string> kLogLevels = {"trace", "debug", "info", "warn", "error"};

// A key as it must be written in TOML: bare when possible, else quoted.
std::string key_segment(std::string_view k) {
  bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  if (bare) return std::string(k);
  std::string out = "\"";
  for (char c : k) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string section(std::initializer_list<std::string_view> parts) {
  std::string out = "[";
  for (auto p : parts) {
    if (out.size() > 1) out += '.';
    out += key_segment(p);
  }
  return out + "]";
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

const toml::table* sub_table(const toml::table* t, std::string_view key) {
  return t == nullptr ? nullptr : t->get_as<toml::table>(key);
}

// Settings chains for every strategy the topic uses. `own` and `defaults` are
// the topic's and topic_defaults' `plugins` tables (either may be null),
// written in `own_origin` and `defaults_origin`.
std::map<std::string, PluginSettings> settings_for(const TopicConfig& topic, const toml::table* own,
                                                   const ConfigOrigin& own_origin,
                                                   const toml::table* defaults,
                                                   const ConfigOrigin& defaults_origin,
                                                   std::string_view topic_name) {
  std::vector<std::string> used = topic.index;
  used.insert(used.end(), topic.retention.begin(), topic.retention.end());
  used.push_back(topic.partitioner);
  std::map<std::string, PluginSettings> out;
  for (const auto& s : used) {
    PluginSettings ps;
    ps.tables = {sub_table(own, s), sub_table(defaults, s)};
    // topic_defaults' own chain has no topic table; name it generically.
    std::string own_name = topic_name.empty() ? "[topics.<topic>.plugins." + key_segment(s) + "]"
                                              : section({"topics", topic_name, "plugins", s});
    ps.table_names = {own_name, section({"topic_defaults", "plugins", s})};
    ps.origins = {own_origin, defaults_origin};
    out[s] = std::move(ps);
  }
  return out;
}

const toml::table* defaults_plugins(const toml::table* doc) {
  return sub_table(sub_table(doc, "topic_defaults"), "plugins");
}

// Where a TOML syntax error is: the only hint there is, so given with its
// line and column even in text the reader did not write as such.
std::string syntax_error_at(const ConfigOrigin& origin, const toml::parse_error& e) {
  const auto& pos = e.source().begin;
  const std::string at = std::to_string(pos.line) + ":" + std::to_string(pos.column);
  return origin.positions ? origin.name + ":" + at : origin.name + " (TOML text, at " + at + ")";
}

// Validates the TOML document and turns it into a BrokerConfig. Nodes parsed from the
// file carry their line and column; nodes made by command-line overrides carry
// none, so the parser remembers which override made each of them.
class Parser {
 public:
  explicit Parser(ConfigOrigin origin) : origin_(std::move(origin)), file_(origin_.name) {}

  BrokerConfig parse(const std::string& text, const std::vector<std::string>& overrides) {
    BrokerConfig cfg;
    cfg.source = file_;
    try {
      check_toml_key_depth(text, file_);
      cfg.document = std::make_shared<toml::table>(toml::parse(text, file_));
    } catch (const toml::parse_error& e) {
      fail(KEEL_ERR_INVALID_ARGUMENT, syntax_error_at(origin_, e) +
                                          ": invalid TOML: " + std::string(e.description()) +
                                          "; fix the syntax at that position" + kSeeDocs);
    }
    toml::table& doc = *cfg.document;
    for (const auto& o : overrides) apply_override(doc, o);

    for (const auto& e : ordered(doc)) {
      if (std::find(kTopLevelKeys.begin(), kTopLevelKeys.end(), e.name) == kTopLevelKeys.end()) {
        fail_at(where(*e.key, *e.node), "unknown top-level key '" + e.name + "'" +
                                            did_you_mean(e.name, kTopLevelKeys, "allowed tables are") +
                                            kSeeDocs);
      }
    }
    if (toml::table* t = table_entry(doc, "broker", "")) parse_broker(*t, cfg);
    toml::table* defaults = table_entry(doc, "topic_defaults", "");
    if (defaults) parse_topic_keys(*defaults, "[topic_defaults]", cfg.topic_defaults);
    cfg.topic_defaults.plugin_settings =
        settings_for(cfg.topic_defaults, nullptr, origin_, defaults_plugins(&doc), origin_, "");
    if (toml::table* t = table_entry(doc, "topics", "")) parse_topics(*t, cfg);
    if (toml::table* t = table_entry(doc, "transports", "")) parse_transports(*t, cfg);
    if (toml::table* t = table_entry(doc, "cluster", "")) parse_cluster(*t, cfg);
    if (toml::table* t = table_entry(doc, "authorizer", "")) parse_authorizer(*t, cfg);
    return cfg;
  }

  // One [topics.<name>] table, on top of `base` (the topic defaults without
  // their settings chains) and the defaults' `plugins` table, written in
  // `defaults_origin`.
  TopicConfig parse_topic(const std::string& name, toml::table& t, const TopicConfig& base,
                          const toml::table* defaults, const ConfigOrigin& defaults_origin) {
    TopicConfig topic = base;
    topic.name = name;
    topic.declared = true;
    parse_topic_keys(t, section({"topics", name}), topic);
    topic.own_table = &t;
    toml::table* own = t.get_as<toml::table>("plugins");
    topic.plugin_settings = settings_for(topic, own, origin_, defaults, defaults_origin, name);
    if (own != nullptr) check_unused_plugins(*own, topic);
    return topic;
  }

 private:
  struct Entry {
    std::string name;
    const toml::key* key;
    toml::node* node;
  };

  [[noreturn]] static void fail_at(const std::string& location, const std::string& message) {
    fail(KEEL_ERR_INVALID_ARGUMENT, location + ": " + message);
  }

  std::string where(const toml::node& n) const {
    if (n.source().begin.line > 0) return source_location(origin_, n);
    if (auto it = origins_.find(&n); it != origins_.end()) {
      return "command-line override '" + overrides_[it->second] + "'";
    }
    return file_;
  }

  // Unknown keys are reported at the key, not at its value.
  std::string where(const toml::key& k, const toml::node& n) const {
    const auto& pos = k.source().begin;
    if (pos.line > 0 && origin_.positions) {
      return file_ + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
    }
    return where(n);
  }

  // A table's entries in the order they were written (toml::table sorts by
  // key); entries from overrides follow, in command-line order.
  std::vector<Entry> ordered(toml::table& t) const {
    std::vector<Entry> out;
    for (auto&& [k, v] : t) out.push_back({std::string(k.str()), &k, &v});
    // By the key: a table's node moves to its [header] when one follows a
    // dotted mention, its key stays at the first mention.
    auto rank = [this](const Entry& e) {
      auto pos = e.key->source().begin;
      if (pos.line == 0) pos = e.node->source().begin;
      if (pos.line > 0) return std::make_tuple(0, size_t{pos.line}, size_t{pos.column});
      auto it = origins_.find(e.node);
      return std::make_tuple(1, it == origins_.end() ? SIZE_MAX : it->second, size_t{0});
    };
    std::stable_sort(out.begin(), out.end(),
                     [&](const Entry& a, const Entry& b) { return rank(a) < rank(b); });
    return out;
  }

  // `parent_name` is the parent's section, "" for the root.
  toml::table* table_entry(toml::table& parent, std::string_view key, const std::string& parent_name) {
    toml::node* n = parent.get(key);
    if (n == nullptr) return nullptr;
    if (!n->is_table()) {
      std::string what =
          parent_name.empty() ? "'" + std::string(key) + "'" : parent_name + " " + key_segment(key);
      std::string header = parent_name.empty()
                               ? "[" + key_segment(key) + "]"
                               : parent_name.substr(0, parent_name.size() - 1) + "." + key_segment(key) + "]";
      fail_at(where(*n), what + " must be a table, got " + toml_type_name(*n) + "; write it as a " + header +
                             " section" + kSeeDocs);
    }
    return n->as_table();
  }

  // ---- overrides -----------------------------------------------------------

  void remember(const toml::node& n, size_t override_index) {
    origins_[&n] = override_index;
    if (const auto* t = n.as_table()) {
      for (auto&& [k, v] : *t) remember(v, override_index);
    } else if (const auto* a = n.as_array()) {
      for (const auto& v : *a) remember(v, override_index);
    }
  }

  // "a.\"b.c\".d" -> {a, b.c, d}; nullopt when malformed.
  static std::optional<std::vector<std::string>> split_key(std::string_view key) {
    std::vector<std::string> out(1);
    bool quoted = false, was_quoted = false;
    for (char c : key) {
      if (c == '"') {
        quoted = !quoted;
        was_quoted = true;
      } else if (c == '.' && !quoted) {
        if (out.back().empty() && !was_quoted) return std::nullopt;
        out.emplace_back();
        was_quoted = false;
      } else {
        out.back() += c;
      }
    }
    if (quoted || (out.back().empty() && !was_quoted)) return std::nullopt;
    return out;
  }

  void apply_override(toml::table& doc, const std::string& text) {
    const size_t index = overrides_.size();
    overrides_.push_back(text);
    const std::string label = "command-line override '" + text + "'";
    const size_t eq = text.find('=');
    const std::string key = eq == std::string::npos ? "" : trim(std::string_view(text).substr(0, eq));
    auto path = key.empty() ? std::nullopt : split_key(key);
    if (!path) {
      fail(KEEL_ERR_INVALID_ARGUMENT,
           label +
               " is not dotted.key=value; write e.g. --set broker.data_dir=/var/lib/keel"
               " or --set topics.orders.partitions=6" +
               kSeeDocs);
    }
    const std::string value = trim(std::string_view(text).substr(eq + 1));
    if (path->size() > static_cast<size_t>(kMaxTomlKeyParts)) {
      fail(KEEL_ERR_INVALID_ARGUMENT, label.substr(0, 120) + "...: the key has " +
                                          std::to_string(path->size()) + " parts, more than " +
                                          std::to_string(kMaxTomlKeyParts) + kSeeDocs);
    }
    check_toml_key_depth(value, "the value of --set " + key.substr(0, 80));

    toml::table* t = &doc;
    std::string prefix;
    for (size_t i = 0; i + 1 < path->size(); ++i) {
      const std::string& seg = (*path)[i];
      prefix += (prefix.empty() ? "" : ".") + key_segment(seg);
      toml::node* child = t->get(seg);
      if (child == nullptr) {
        child = &t->insert(seg, toml::table{}).first->second;
        remember(*child, index);
      } else if (!child->is_table()) {
        fail(KEEL_ERR_INVALID_ARGUMENT, label + ": '" + prefix + "' is " + toml_type_name(*child) + " (" +
                                            where(*child) + "), not a table, so it has no key '" +
                                            (*path)[i + 1] + "'" + kSeeDocs);
      }
      t = child->as_table();
    }

    // Copies (not moves) so that the value carries no position from the
    // one-line snippet it was parsed from: where() then names the override.
    const std::string& last = path->back();
    bool parsed = false;
    try {
      toml::table snippet = toml::parse("v = " + value);
      if (snippet.size() == 1 && snippet.contains("v")) {
        snippet.get("v")->visit([&](const auto& v) { t->insert_or_assign(last, v); });
        parsed = true;
      }
    } catch (const toml::parse_error&) {
    }
    if (!parsed) t->insert_or_assign(last, value);
    remember(*t->get(last), index);
  }

  // ---- typed values --------------------------------------------------------

  int64_t integer(const Entry& e, const std::string& sec, int64_t min, int64_t max = INT64_MAX) const {
    const auto* v = e.node->as_integer();
    if (v == nullptr) {
      fail_at(where(*e.node),
              sec + " " + e.name + " must be an integer, got " + toml_type_name(*e.node) + kSeeDocs);
    }
    int64_t x = v->get();
    if (x < min || x > max) {
      std::string range = max != INT64_MAX ? "between " + std::to_string(min) + " and " + std::to_string(max)
                          : min == 1       ? std::string("greater than 0")
                                           : "at least " + std::to_string(min);
      fail_at(where(*e.node),
              sec + " " + e.name + " must be " + range + ", got " + std::to_string(x) + kSeeDocs);
    }
    return x;
  }

  std::string string(const toml::node& n, const std::string& what, bool allow_empty = false) const {
    const auto* v = n.as_string();
    if (v == nullptr) fail_at(where(n), what + " must be a string, got " + toml_type_name(n) + kSeeDocs);
    if (!allow_empty && v->get().empty()) fail_at(where(n), what + " must not be empty" + kSeeDocs);
    return v->get();
  }

  std::string one_of(const Entry& e, const std::string& sec, const std::vector<std::string>& allowed) const {
    std::string s = string(*e.node, sec + " " + e.name, true);
    if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
      fail_at(where(*e.node),
              sec + " " + e.name + " must be one of " + join(allowed) + "; got '" + s + "'" + kSeeDocs);
    }
    return s;
  }

  bool boolean(const Entry& e, const std::string& sec) const {
    const auto* v = e.node->as_boolean();
    if (v == nullptr) {
      fail_at(where(*e.node), sec + " " + e.name + " must be a boolean (true or false), got " +
                                  toml_type_name(*e.node) + kSeeDocs);
    }
    return v->get();
  }

  std::vector<std::string> strings(const Entry& e, const std::string& sec, bool unique) const {
    const auto* a = e.node->as_array();
    if (a == nullptr) {
      fail_at(where(*e.node), sec + " " + e.name + " must be an array of strings, e.g. [\"a\", \"b\"], got " +
                                  toml_type_name(*e.node) + kSeeDocs);
    }
    std::vector<std::string> out;
    for (const auto& item : *a) {
      std::string s = string(item, "each element of " + sec + " " + e.name);
      if (unique && std::find(out.begin(), out.end(), s) != out.end()) {
        fail_at(where(item), sec + " " + e.name + " lists '" + s + "' twice; remove the duplicate");
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  // Records where each strategy named by `e` (a string or an array of them)
  // was written, as "<kind> <name>" -> location, replacing what an earlier
  // table (the defaults) said for that kind.
  void locate_strategies(const Entry& e, std::map<std::string, std::string>& out,
                         const std::string& kind = "") const {
    const std::string prefix = (kind.empty() ? e.name : kind) + " ";
    std::erase_if(out, [&](const auto& kv) { return kv.first.starts_with(prefix); });
    if (const auto* a = e.node->as_array()) {
      for (const auto& item : *a) {
        if (const auto* v = item.as_string()) out[prefix + v->get()] = where(item);
      }
    } else if (const auto* v = e.node->as_string()) {
      out[prefix + v->get()] = where(*e.node);
    }
  }

  void unknown_key(const Entry& e, const std::string& sec, const std::vector<std::string>& allowed) const {
    std::string hint = did_you_mean(e.name, allowed, "allowed keys are");
    if (sec.rfind("[topics.", 0) == 0 && e.node->is_table()) {
      hint += "; a topic name containing '.' must be quoted, e.g. [topics.\"my.topic\"]";
    }
    fail_at(where(*e.key, *e.node), "unknown key '" + e.name + "' in " + sec + hint + kSeeDocs);
  }

  // ---- sections ------------------------------------------------------------

  void parse_broker(toml::table& t, BrokerConfig& cfg) {
    const std::string sec = "[broker]";
    for (const auto& e : ordered(t)) {
      if (e.name == "data_dir") {
        cfg.data_dir = string(*e.node, sec + " data_dir");
      } else if (e.name == "plugin_path") {
        cfg.plugin_path = strings(e, sec, false);
      } else if (e.name == "plugins") {
        cfg.plugins = strings(e, sec, false);
      } else if (e.name == "auto_create_topics") {
        cfg.auto_create_topics = boolean(e, sec);
      } else if (e.name == "retention_check_ms") {
        cfg.retention_check_ms = integer(e, sec, 1);
      } else if (e.name == "recovery_checkpoint_ms") {
        cfg.recovery_checkpoint_ms = integer(e, sec, 1);
      } else if (e.name == "producer_id_expiration_ms") {
        cfg.producer_id_expiration_ms = integer(e, sec, 1);
      } else if (e.name == "log_level") {
        cfg.log_level = one_of(e, sec, kLogLevels);
      } else if (e.name == "queued_max_request_bytes") {
        cfg.queued_max_request_bytes = integer(e, sec, -1);
        if (cfg.queued_max_request_bytes >= 0 && cfg.queued_max_request_bytes < 1024) {
          fail_at(where(*e.node),
                  sec + " queued_max_request_bytes must be -1 (unbounded) or at least 1024, got " +
                      std::to_string(cfg.queued_max_request_bytes) + kSeeDocs);
        }
      } else if (e.name == "writeback_bytes") {
        cfg.writeback_bytes = integer(e, sec, 0, int64_t{1} << 30);
        if (cfg.writeback_bytes > 0 && cfg.writeback_bytes < 65536) {
          fail_at(where(*e.node), sec + " writeback_bytes must be 0 (off) or at least 65536, got " +
                                      std::to_string(cfg.writeback_bytes) + kSeeDocs);
        }
      } else if (e.name == "offsets_flush") {
        cfg.offsets.flush_on_commit = one_of(e, sec, kOffsetsFlushModes) == "commit";
      } else if (e.name == "offsets_flush_interval_ms") {
        cfg.offsets.flush_interval_ms = integer(e, sec, 1);
      } else if (e.name == "offsets_topic_partitions") {
        cfg.offsets.topic_partitions = static_cast<int32_t>(integer(e, sec, 1, 1000));
      } else if (e.name == "offsets_topic_segment_bytes") {
        cfg.offsets.topic_segment_bytes = integer(e, sec, 1024);
      } else if (e.name == "offsets_topic_retention") {
        cfg.offsets.topic_retention = strings(e, sec, true);
        locate_strategies(e, cfg.offsets.retention_locations, "retention");
      } else {
        unknown_key(e, sec, kBrokerKeys);
      }
    }
  }

  void parse_topic_keys(toml::table& t, const std::string& sec, TopicConfig& topic) {
    for (const auto& e : ordered(t)) {
      if (e.name == "partitions") {
        topic.partitions = static_cast<int32_t>(integer(e, sec, 1, 10000));
      } else if (e.name == "segment_bytes") {
        topic.segment_bytes = integer(e, sec, 1024);
      } else if (e.name == "segment_ms") {
        topic.segment_ms = integer(e, sec, 1);
      } else if (e.name == "max_batch_bytes") {
        topic.max_batch_bytes = integer(e, sec, 64);
      } else if (e.name == "flush_mode") {
        std::string m = one_of(e, sec, kFlushModes);
        topic.flush_mode = m == "every-batch" ? FlushMode::EveryBatch
                           : m == "interval"  ? FlushMode::Interval
                                              : FlushMode::Os;
      } else if (e.name == "flush_interval_ms") {
        topic.flush_interval_ms = integer(e, sec, 1);
      } else if (e.name == "flush_messages") {
        topic.flush_messages = integer(e, sec, 1);
      } else if (e.name == "recycle_segments") {
        topic.recycle_segments = boolean(e, sec);
      } else if (e.name == "preallocate") {
        topic.preallocate = boolean(e, sec);
      } else if (e.name == "replication_factor") {
        topic.replication_factor = static_cast<int32_t>(integer(e, sec, 1, 16));
      } else if (e.name == "min_insync_replicas") {
        topic.min_insync_replicas = static_cast<int32_t>(integer(e, sec, 1, 16));
      } else if (e.name == "index") {
        topic.index = strings(e, sec, true);
        locate_strategies(e, topic.strategy_locations);
      } else if (e.name == "retention") {
        topic.retention = strings(e, sec, true);
        locate_strategies(e, topic.strategy_locations);
      } else if (e.name == "partitioner") {
        topic.partitioner = string(*e.node, sec + " partitioner");
        locate_strategies(e, topic.strategy_locations);
      } else if (e.name == "plugins") {
        check_plugins_table(e, sec);
      } else {
        unknown_key(e, sec, kTopicKeys);
      }
    }
  }

  void check_plugins_table(const Entry& e, const std::string& sec) {
    toml::table* plugins = e.node->as_table();
    const std::string psec = sec.substr(0, sec.size() - 1) + ".plugins]";
    if (plugins == nullptr) {
      fail_at(where(*e.node), sec + " plugins must be a table of per-strategy settings, e.g. " +
                                  psec.substr(0, psec.size() - 1) + ".time], got " + toml_type_name(*e.node) +
                                  kSeeDocs);
    }
    for (const auto& p : ordered(*plugins)) {
      if (!p.node->is_table()) {
        fail_at(where(*p.node), psec + " " + p.name + " must be a table of settings for strategy '" + p.name +
                                    "', e.g. " + psec.substr(0, psec.size() - 1) + "." + key_segment(p.name) +
                                    "], got " + toml_type_name(*p.node) + kSeeDocs);
      }
    }
  }

  void parse_topics(toml::table& topics, BrokerConfig& cfg) {
    TopicConfig base = cfg.topic_defaults;
    base.plugin_settings.clear();
    const toml::table* defaults = defaults_plugins(cfg.document.get());
    for (const auto& e : ordered(topics)) {
      if (!valid_topic_name(e.name)) {
        fail_at(where(*e.key, *e.node), "invalid topic name '" + e.name +
                                            "' in [topics]: a topic name is 1 to 249 characters of a-z, A-Z, "
                                            "0-9, '.', '_' and '-', and is not '.' or '..'");
      }
      toml::table* t = table_entry(topics, e.name, "[topics]");
      cfg.topics.push_back(parse_topic(e.name, *t, base, defaults, origin_));
    }
  }

  void check_unused_plugins(toml::table& own, const TopicConfig& topic) {
    std::vector<std::string> used;
    for (const auto& [s, _] : topic.plugin_settings) used.push_back(s);
    for (const auto& p : ordered(own)) {
      if (topic.plugin_settings.count(p.name) != 0) continue;
      std::string hint;
      if (auto c = closest(p.name, used)) hint = " (did you mean '" + *c + "'?)";
      fail_at(where(*p.key, *p.node),
              section({"topics", topic.name, "plugins", p.name}) + " configures strategy '" + p.name +
                  "' but topic '" + topic.name + "' does not use it" + hint +
                  "; add it to `retention`/`index`/`partitioner` or remove the table" + kSeeDocs);
    }
  }

  // [cluster]: the kernel's keys, and one sub-table, [cluster.<coordinator>],
  // handed to the coordinator plugin as its settings.
  void parse_cluster(toml::table& t, BrokerConfig& cfg) {
    const std::string sec = "[cluster]";
    ClusterConfig& c = cfg.cluster;
    c.enabled = true;
    std::vector<Entry> plugin_tables;
    for (const auto& e : ordered(t)) {
      if (e.node->is_table()) {
        plugin_tables.push_back(e);
      } else if (e.name == "broker_id") {
        c.broker_id = static_cast<int32_t>(integer(e, sec, 0, INT32_MAX));
      } else if (e.name == "cluster_id") {
        c.cluster_id = string(*e.node, sec + " cluster_id");
        const bool ok = std::all_of(c.cluster_id.begin(), c.cluster_id.end(), [](char ch) {
          return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
        });
        if (!ok || c.cluster_id.size() > 64) {
          fail_at(where(*e.node), sec +
                                      " cluster_id must be 1 to 64 characters of a-z, A-Z, 0-9, '.', '_' "
                                      "and '-' (it names the cluster's keys in the coordinator), got '" +
                                      c.cluster_id.substr(0, 80) + "'" + kSeeDocs);
        }
      } else if (e.name == "coordinator") {
        c.coordinator = string(*e.node, sec + " coordinator");
        c.coordinator_location = where(*e.node);
      } else if (e.name == "advertised_host") {
        c.advertised_host = string(*e.node, sec + " advertised_host");
      } else if (e.name == "rack") {
        c.rack = string(*e.node, sec + " rack", true);
      } else if (e.name == "default_replication_factor") {
        c.default_replication_factor = static_cast<int32_t>(integer(e, sec, 1, 16));
      } else if (e.name == "retry_backoff_ms") {
        c.retry_backoff_ms = integer(e, sec, 1, 60000);
      } else if (e.name == "leader_rebalance_interval_ms") {
        c.leader_rebalance_interval_ms = integer(e, sec, 0, 24LL * 3600 * 1000);
      } else if (e.name == "replica_lag_time_max_ms") {
        c.replica_lag_time_max_ms = integer(e, sec, 100, 3600000);
      } else if (e.name == "replication_advertised_port") {
        c.replication_advertised_port = static_cast<int32_t>(integer(e, sec, 0, 65535));
      } else if (e.name == "replication_listen") {
        const std::string v = string(*e.node, sec + " replication_listen");
        const auto colon = v.rfind(':');
        int64_t port = -1;
        if (colon != std::string::npos && colon + 1 < v.size() && colon + 6 >= v.size() &&
            std::all_of(v.begin() + static_cast<long>(colon) + 1, v.end(),
                        [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); })) {
          port = std::stoll(v.substr(colon + 1));
        }
        if (port < 0 || port > 65535) {
          fail_at(where(*e.node),
                  sec + " replication_listen must be \"host:port\" (port 0 picks a free one), got '" +
                      v.substr(0, 80) + "'" + kSeeDocs);
        }
        c.replication_host = v.substr(0, colon);
        c.replication_port = static_cast<int32_t>(port);
      } else {
        unknown_key(e, sec, kClusterKeys);
      }
    }
    for (const auto& e : plugin_tables) {
      if (e.name != c.coordinator) {
        fail_at(where(*e.key, *e.node), section({"cluster", e.name}) + " configures coordinator '" + e.name +
                                            "' but [cluster] coordinator is '" + c.coordinator +
                                            "'; set coordinator = \"" + e.name + "\" or remove the table" +
                                            kSeeDocs);
      }
      c.coordinator_settings.tables = {e.node->as_table()};
      c.coordinator_settings.table_names = {section({"cluster", e.name})};
      c.coordinator_settings.origins = {origin_};
    }
  }

  // [authorizer]: `strategy`, and one sub-table, [authorizer.<strategy>],
  // handed to the authorizer plugin as its settings.
  void parse_authorizer(toml::table& t, BrokerConfig& cfg) {
    const std::string sec = "[authorizer]";
    AuthorizerConfig& a = cfg.authorizer;
    a.enabled = true;
    std::vector<Entry> plugin_tables;
    for (const auto& e : ordered(t)) {
      if (e.node->is_table()) {
        plugin_tables.push_back(e);
      } else if (e.name == "strategy") {
        a.strategy = string(*e.node, sec + " strategy");
        a.location = where(*e.node);
      } else {
        unknown_key(e, sec, {"strategy"});
      }
    }
    if (a.strategy.empty()) {
      fail_at(where(t), sec +
                            " needs strategy = \"<name>\" (the built-in one is \"acl\"); remove the "
                            "section to let every client do everything" +
                            kSeeDocs);
    }
    for (const auto& e : plugin_tables) {
      if (e.name != a.strategy) {
        fail_at(where(*e.key, *e.node), section({"authorizer", e.name}) + " configures authorizer '" +
                                            e.name + "' but [authorizer] strategy is '" + a.strategy +
                                            "'; set strategy = \"" + e.name + "\" or remove the table" +
                                            kSeeDocs);
      }
      a.settings.tables = {e.node->as_table()};
      a.settings.table_names = {section({"authorizer", e.name})};
      a.settings.origins = {origin_};
    }
  }

  void parse_transports(toml::table& transports, BrokerConfig& cfg) {
    for (const auto& e : ordered(transports)) {
      if (e.name.empty())
        fail_at(where(*e.key, *e.node), "a transport name must not be empty" + std::string(kSeeDocs));
      toml::table* t = table_entry(transports, e.name, "[transports]");
      TransportConfig tc;
      tc.name = e.name;
      tc.location = where(*e.key, *e.node);
      if (toml::node* enabled = t->get("enabled")) {
        tc.enabled = boolean({"enabled", nullptr, enabled}, section({"transports", e.name}));
      }
      // `enabled` is the kernel's, not the plugin's: dropping it from the
      // table keeps it out of the plugin's unknown-key check. Erasing in place
      // keeps the other nodes' source positions (a copy would lose them).
      t->erase("enabled");
      tc.settings.tables = {t};
      tc.settings.table_names = {section({"transports", e.name})};
      tc.settings.origins = {origin_};
      cfg.transports.push_back(std::move(tc));
    }
  }

  const ConfigOrigin origin_;
  const std::string file_;  // origin_.name
  std::vector<std::string> overrides_;
  std::map<const toml::node*, size_t> origins_;  // node -> index into overrides_
};

}  // namespace

std::string toml_key(std::string_view key) { return key_segment(key); }

TopicConfig BrokerConfig::topic_from_defaults(const std::string& name) const {
  TopicConfig t = topic_defaults;
  t.name = name;
  t.declared = false;
  const ConfigOrigin origin{source};
  t.plugin_settings = settings_for(t, nullptr, origin, defaults_plugins(document.get()), origin, name);
  return t;
}

std::string string_override(const std::string& key, const std::string& value) {
  if (value.find('\'') == std::string::npos && value.find('\n') == std::string::npos) {
    return key + "='" + value + "'";
  }
  std::string escaped;
  for (char c : value) {
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return key + "=\"" + escaped + "\"";
}

TopicConfig BrokerConfig::topic_from_toml(const std::string& name, const std::string& settings_toml,
                                          const ConfigOrigin& origin) const {
  // Parsed on its own, not pasted into a copy of this config: its nodes keep
  // their positions in `settings_toml` and the defaults' nodes theirs in
  // this config's file, so every message names the text it is about.
  auto own = std::make_shared<toml::table>();
  try {
    check_toml_key_depth(settings_toml, origin.name);
    *own = toml::parse(settings_toml, std::string_view(origin.name));
  } catch (const toml::parse_error& e) {
    fail(KEEL_ERR_INVALID_ARGUMENT, syntax_error_at(origin, e) + ": " + std::string(e.description()));
  }
  TopicConfig base = topic_defaults;
  base.plugin_settings.clear();
  TopicConfig out =
      Parser(origin).parse_topic(name, *own, base, defaults_plugins(document.get()), ConfigOrigin{source});
  out.declared = false;
  out.document_owner = own;
  return out;
}

const TopicConfig* BrokerConfig::find_topic(const std::string& name) const {
  for (const auto& t : topics) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

BrokerConfig parse_config(const std::string& toml_text, const std::string& source,
                          const std::vector<std::string>& overrides) {
  return Parser(ConfigOrigin{source}).parse(toml_text, overrides);
}

BrokerConfig load_config_file(const std::string& path, const std::vector<std::string>& overrides) {
  auto cannot_read = [&](int err) {
    fail(KEEL_ERR_INVALID_ARGUMENT, "cannot read config file '" + path + "': " + errno_text(err) +
                                        "; check the path and its permissions");
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) cannot_read(errno);
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      cannot_read(err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return parse_config(text, path, overrides);
}

}  // namespace keel
