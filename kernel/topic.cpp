#include "topic.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <utility>

#include "common/error.hpp"
#include "config/topic_settings.hpp"
#include "observability/rate_limited_log.hpp"
#include "storage/log_rewriter.hpp"
#include "storage/rewrite_progress.hpp"
#include "storage/spare_maker.hpp"

namespace keel {
namespace {

// Optional slots (the loader checked that the 2.0 table is complete).
bool has_rewrite(const keel_retention_vtable* vt) { return vt->rewrite != nullptr; }
bool has_requires_keys(const keel_retention_vtable* vt) { return vt->requires_keys != nullptr; }

std::string plugin_of(const StrategyRef& ref) {
  const char* name = ref.library->descriptor->name;
  return name != nullptr ? name : ref.library->path;
}

}  // namespace

std::string Topic::partition_dir(const std::string& data_dir, const std::string& topic, int32_t p) {
  return data_dir + "/" + topic + "-" + std::to_string(p);
}

keel_config* Topic::settings_for(const std::string& strategy, const std::string& role) {
  auto& slot = settings_[strategy];
  if (!slot) {
    slot = std::make_unique<keel_config>();
    auto it = config_.plugin_settings.find(strategy);
    if (it != config_.plugin_settings.end()) slot->settings = it->second;
    slot->owner = role + " '" + strategy + "' of topic '" + config_.name + "'";
  }
  return slot.get();
}

std::string Topic::location_of(int32_t kind, const std::string& name) const {
  auto it = config_.strategy_locations.find(std::string(kind_name(kind)) + " " + name);
  return it == config_.strategy_locations.end() ? "" : it->second;
}

std::string Topic::named_at(int32_t kind, const std::string& name) const {
  const std::string at = location_of(kind, name);
  return at.empty() ? "" : " (" + at + ")";
}

StrategyRef Topic::require(PluginRegistry& registry, int32_t kind, const std::string& name) const {
  try {
    return registry.require(kind, name);
  } catch (const Error& e) {
    // The registry knows the name; the topic knows who asked and where.
    const std::string at = location_of(kind, name);
    fail(e.code(), (at.empty() ? "" : at + ": ") + "topic '" + config_.name + "': " + e.what());
  }
}

std::string Topic::problems_of(const std::string& strategy) const {
  auto it = settings_.find(strategy);
  if (it == settings_.end()) return "";
  return problem_lines(keel::config_problems(*it->second));
}

Topic::RetentionSet::~RetentionSet() {
  for (auto& r : instances) r.ref.vt<keel_retention_vtable>()->destroy(r.handle);
}

bool Topic::RetentionSet::rewrites() const {
  for (const auto& r : instances) {
    if (has_rewrite(r.ref.vt<keel_retention_vtable>())) return true;
  }
  return false;
}

bool Topic::RetentionSet::requires_keys() const {
  for (const auto& r : instances) {
    auto* vt = r.ref.vt<keel_retention_vtable>();
    if (has_requires_keys(vt) && vt->requires_keys(r.handle) != 0) return true;
  }
  return false;
}

std::shared_ptr<Topic::RetentionSet> Topic::make_retention(std::shared_ptr<const TopicConfig> cfg,
                                                           PluginRegistry& registry) const {
  auto set = std::make_shared<RetentionSet>();
  set->config = cfg;
  for (const auto& name : cfg->retention) {
    auto& slot = set->settings[name];
    slot = std::make_unique<keel_config>();
    if (auto it = cfg->plugin_settings.find(name); it != cfg->plugin_settings.end())
      slot->settings = it->second;
    slot->owner = "retention '" + name + "' of topic '" + cfg->name + "'";
    RetentionInstance r{require(registry, KEEL_KIND_RETENTION, name), nullptr};
    keel_error err{};
    keel_status s = r.ref.vt<keel_retention_vtable>()->create(r.ref.host(), slot.get(), &r.handle, &err);
    if (s != KEEL_OK) {
      fail(s, "topic '" + cfg->name + "': retention '" + name + "'" + named_at(KEEL_KIND_RETENTION, name) +
                  " refused its settings: " + err.message + problem_lines(keel::config_problems(*slot)));
    }
    set->instances.push_back(r);
  }
  return set;
}

Topic::Topic(TopicConfig config, PluginRegistry& registry, const std::string& data_dir, const Clock* clock)
    : config_(std::move(config)), data_dir_(data_dir), clock_(clock) {
  for (const auto& name : config_.index) {
    index_specs_.push_back(IndexSpec{require(registry, KEEL_KIND_INDEX, name), settings_for(name, "index")});
  }
  live_ = std::make_shared<const TopicConfig>(config_);
  retention_ = make_retention(live_, registry);
  partitioner_ref_ = require(registry, KEEL_KIND_PARTITIONER, config_.partitioner);
  keel_error err{};
  keel_status s = partitioner_ref_.vt<keel_partitioner_vtable>()->create(
      partitioner_ref_.host(), settings_for(config_.partitioner, "partitioner"), &partitioner_, &err);
  if (s != KEEL_OK) {
    fail(s, "topic '" + config_.name + "': partitioner '" + config_.partitioner + "'" +
                named_at(KEEL_KIND_PARTITIONER, config_.partitioner) +
                " refused its settings: " + err.message + problems_of(config_.partitioner));
  }
}

Topic::~Topic() {
  partitions_.clear();  // logs (and their index instances) go before the libraries may
  retention_.reset();
  if (partitioner_) partitioner_ref_.vt<keel_partitioner_vtable>()->destroy(partitioner_);
}

std::shared_ptr<const TopicConfig> Topic::config() const {
  std::lock_guard lock(live_mu_);
  return live_;
}

std::shared_ptr<Topic::RetentionSet> Topic::retention() const {
  std::lock_guard lock(live_mu_);
  return retention_;
}

bool Topic::rewrites_segments() const { return retention()->rewrites(); }

LiveLogOptions Topic::live_options(const TopicConfig& cfg, const RetentionSet& r) const {
  return LiveLogOptions{cfg.segment_bytes, cfg.segment_ms,       cfg.max_batch_bytes, r.requires_keys(),
                        r.rewrites(),      cfg.recycle_segments, cfg.preallocate};
}

void Topic::open(bool clean, const std::function<int64_t(int32_t)>& recovery_point) {
  namespace fs = std::filesystem;
  int32_t count = config_.partitions;
  // Partitions may have been added earlier (never removed): keep them all.
  while (fs::exists(partition_dir(data_dir_, config_.name, count))) ++count;
  if (count > config_.partitions) {
    spdlog::warn("topic '{}' has {} partitions on disk, more than the {} configured; keeping all {}",
                 config_.name, count, config_.partitions, count);
  }
  const LogOptions opts = log_options();
  for (int32_t p = 0; p < count; ++p) {
    auto log = std::make_shared<PartitionLog>(config_.name, p, partition_dir(data_dir_, config_.name, p),
                                              opts, clock_);
    log->set_replicated(config_.replicated);
    if (spare_maker_ != nullptr) log->set_spare_hooks(spare_maker_->hooks_for(log));
    log->open(clean, recovery_point(p));
    std::unique_lock lock(partitions_mu_);
    partitions_.push_back(std::move(log));
  }
}

LogOptions Topic::log_options() const {
  const auto cfg = config();
  const LiveLogOptions live = live_options(*cfg, *retention());
  LogOptions opts;
  opts.segment_bytes = live.segment_bytes;
  opts.segment_ms = live.segment_ms;
  opts.max_batch_bytes = live.max_batch_bytes;
  opts.indexes = index_specs_;
  opts.gaps_expected = live.gaps_expected;
  opts.producer_id_expiration_ms = config_.producer_id_expiration_ms;
  opts.requires_keys = live.requires_keys;
  opts.recycle_segments = live.recycle_segments;
  opts.preallocate = live.preallocate;
  return opts;
}

void Topic::add_partitions(int32_t total) {
  const LogOptions opts = log_options();
  for (int32_t p = partition_count(); p < total; ++p) {
    const std::string dir = partition_dir(data_dir_, config_.name, p);
    if (std::filesystem::exists(dir)) {
      // A leftover would be adopted with its old records.
      fail(KEEL_ERR_IO, "cannot add partition " + std::to_string(p) + " to topic '" + config_.name + "': '" +
                            dir + "' already exists; move it away and retry");
    }
    auto log = std::make_shared<PartitionLog>(config_.name, p, dir, opts, clock_);
    log->set_replicated(config_.replicated);
    if (spare_maker_ != nullptr) log->set_spare_hooks(spare_maker_->hooks_for(log));
    // A new, empty directory: nothing to recover (open() syncs its parent
    // directory, so the partition survives a crash from here on).
    log->open(true, 0);
    std::unique_lock lock(partitions_mu_);
    partitions_.push_back(std::move(log));
  }
}

int32_t Topic::partition_count() const {
  std::shared_lock lock(partitions_mu_);
  return static_cast<int32_t>(partitions_.size());
}

std::vector<std::shared_ptr<PartitionLog>> Topic::logs() const {
  std::shared_lock lock(partitions_mu_);
  return partitions_;
}

std::vector<std::string> Topic::config_problems() const {
  std::vector<std::string> out;
  for (const auto& [name, cfg] : retention()->settings) {
    for (auto& p : keel::config_problems(*cfg)) out.push_back(p);
  }
  for (const auto& [name, cfg] : settings_) {
    const bool index_only =
        std::find(config_.index.begin(), config_.index.end(), name) != config_.index.end() &&
        std::find(config_.retention.begin(), config_.retention.end(), name) == config_.retention.end() &&
        config_.partitioner != name;
    if (index_only && partition_count() == 0) continue;  // not read yet: no verdict
    for (auto& p : keel::config_problems(*cfg)) out.push_back(p);
  }
  return out;
}

std::shared_ptr<PartitionLog> Topic::partition(int32_t p) const {
  std::shared_lock lock(partitions_mu_);
  if (p < 0 || p >= static_cast<int32_t>(partitions_.size())) return nullptr;
  return partitions_[static_cast<size_t>(p)];
}

int32_t Topic::choose_partition(const uint8_t* key, size_t key_len) {
  int32_t out = 0;
  keel_error err{};
  const keel_status s = partitioner_ref_.vt<keel_partitioner_vtable>()->partition(
      partitioner_, key, key_len, partition_count(), &out, &err);
  if (s != KEEL_OK) {
    // The plugin's own words go to the log (rate-limited) and to the caller.
    log_plugin_failure("partitioner", partitioner_ref_.name, plugin_of(partitioner_ref_), "partition",
                       "topic '" + config_.name + "'", s, err.message);
    fail(KEEL_ERR_INTERNAL, "partitioner '" + config_.partitioner + "' of topic '" + config_.name +
                                "' failed (" + status_name(s) + "): " + err.message);
  }
  if (out < 0 || out >= partition_count()) {
    fail(KEEL_ERR_INTERNAL, "partitioner '" + config_.partitioner + "' of topic '" + config_.name +
                                "' gave partition " + std::to_string(out) + " of " +
                                std::to_string(partition_count()));
  }
  return out;
}

int Topic::apply_retention(int64_t now_ms, const std::atomic<bool>* stopping, Metrics* metrics) {
  // This pass keeps the generation it starts with, even if the topic is
  // reconfigured meanwhile.
  const std::shared_ptr<RetentionSet> set = retention();
  const auto& instances = set->instances;
  const auto partitions = logs();
  int deleted = 0;
  for (auto& log : partitions) {
    auto infos = log->segment_infos();
    if (infos.size() < 2) {
      log->end_retention_pass();
      continue;
    }
    // Below the log start (DeleteRecords) nothing is readable: whatever the
    // strategies say.
    size_t most = log->segments_below_start();
    for (const auto& r : instances) {
      size_t n = 0;
      keel_error err{};
      const keel_status s = r.ref.vt<keel_retention_vtable>()->select(
          r.handle, infos.data(), infos.size(), sizeof(keel_segment_info), now_ms, &n, &err);
      if (s != KEEL_OK) {
        log_plugin_failure("retention", r.ref.name, plugin_of(r.ref), "select (skipped this round)",
                           "topic '" + config_.name + "' partition " + std::to_string(log->partition()), s,
                           err.message);
        continue;
      }
      most = std::max(most, n);
    }
    if (most > 0) deleted += log->delete_oldest(most);
    log->end_retention_pass();
  }
  for (const auto& r : instances) {
    auto* vt = r.ref.vt<keel_retention_vtable>();
    if (!has_rewrite(vt)) continue;
    for (auto& log : partitions) {
      if (stopping != nullptr && stopping->load()) break;
      int& passes = rewrite_passes_[{r.ref.name, log->partition()}];
      RewriteProgress progress(metrics, config_.name, log->partition(), r.ref.name, passes);
      try {
        LogRewriter rewriter(*log, r.ref.name, stopping, &progress);
        keel_error err{};
        keel_status s = vt->rewrite(r.handle, rewriter.table(), now_ms, &err);
        if (s != KEEL_OK) {
          spdlog::error("topic '{}' partition {}: rewrite by retention '{}' failed ({}): {}", config_.name,
                        log->partition(), r.ref.name, status_name(s), err.message);
        }
        // A strategy told to stop returns early, successfully or not.
        const bool stopped = stopping != nullptr && stopping->load();
        progress.finish(s != KEEL_OK ? RewriteProgress::Outcome::kFailed
                        : stopped    ? RewriteProgress::Outcome::kStopped
                                     : RewriteProgress::Outcome::kDone);
      } catch (const std::exception& e) {
        spdlog::error("topic '{}' partition {}: rewrite by retention '{}' failed: {}", config_.name,
                      log->partition(), r.ref.name, e.what());
        progress.finish(RewriteProgress::Outcome::kFailed);
      }
      if (progress.started()) passes = progress.passes();
    }
  }
  return deleted;
}

struct Topic::Reconfiguration {
  std::shared_ptr<const TopicConfig> config;
  std::shared_ptr<RetentionSet> retention;
};

std::shared_ptr<Topic::Reconfiguration> Topic::prepare_reconfigure(TopicConfig next,
                                                                   PluginRegistry& registry) const {
  const auto cur = config();
  const std::string& name = config_.name;
  const auto fixed = [&](const std::string& what, const std::string& was, const std::string& asked) {
    fail(KEEL_ERR_UNSUPPORTED, "topic '" + name + "': " + what +
                                   " cannot change on an existing topic (it is " + was +
                                   ", the new settings say " + asked + "); create a new topic for that");
  };
  const auto list = [](const std::vector<std::string>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
    return out + "]";
  };
  if (next.index != config_.index) fixed("its index strategies", list(config_.index), list(next.index));
  if (next.partitioner != config_.partitioner)
    fixed("its partitioner", config_.partitioner, next.partitioner);
  // Index and partitioner instances read their settings when created; the
  // settings they were created with must stay.
  std::map<std::string, std::string> before, after;
  const auto fixed_strategy = [&](const std::string& key) {
    for (const auto& s : config_.index) {
      if (key.starts_with("plugins." + toml_key(s) + ".")) return true;
    }
    return key.starts_with("plugins." + toml_key(config_.partitioner) + ".");
  };
  for (const auto& s : topic_settings(config_)) {
    if (fixed_strategy(s.key)) before[s.key] = s.value;
  }
  for (const auto& s : topic_settings(next)) {
    if (fixed_strategy(s.key)) after[s.key] = s.value;
  }
  for (const auto& [key, value] : before) {
    auto it = after.find(key);
    if (it == after.end() || it->second != value)
      fixed("setting " + key, value, it == after.end() ? "nothing" : it->second);
  }
  for (const auto& [key, value] : after) {
    if (!before.count(key)) fixed("setting " + key, "unset", value);
  }
  // Compaction leaves gaps between offsets that only a rewriting topic
  // tolerates (PartitionLog::find_gaps).
  const auto current = retention();
  for (const auto& r : current->instances) {
    if (!has_rewrite(r.ref.vt<keel_retention_vtable>())) continue;
    if (std::find(next.retention.begin(), next.retention.end(), r.ref.name) == next.retention.end()) {
      fixed("retention '" + r.ref.name + "' (it rewrites segments, leaving gaps between offsets)",
            list(cur->retention), list(next.retention));
    }
  }
  next.producer_id_expiration_ms = config_.producer_id_expiration_ms;
  next.replicated = config_.replicated;
  next.partitions = config_.partitions;
  auto change = std::make_shared<Reconfiguration>();
  change->config = std::make_shared<const TopicConfig>(std::move(next));
  change->retention = make_retention(change->config, registry);
  std::vector<std::string> problems;
  for (const auto& [s, cfg] : change->retention->settings) {
    for (auto& p : keel::config_problems(*cfg)) problems.push_back(p);
  }
  if (!problems.empty()) {
    fail(KEEL_ERR_INVALID_ARGUMENT,
         "settings of topic '" + name + "' are invalid:" + problem_lines(problems));
  }
  return change;
}

void Topic::apply_reconfigure(const std::shared_ptr<Reconfiguration>& change) {
  std::shared_ptr<RetentionSet> old;  // destroyed outside the lock
  {
    std::lock_guard lock(live_mu_);
    live_ = change->config;
    old = std::exchange(retention_, change->retention);
  }
  const LiveLogOptions live = live_options(*change->config, *change->retention);
  for (auto& log : logs()) log->set_live_options(live);
}

void Topic::roll_aged_segments() {
  for (auto& log : logs()) log->roll_if_aged();
}

void Topic::close(PartitionLog::Closing how) {
  // Every partition is closed; the first failure is reported after.
  std::exception_ptr first;
  for (auto& log : logs()) {
    try {
      log->close(how);
    } catch (const std::exception&) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

}  // namespace keel
