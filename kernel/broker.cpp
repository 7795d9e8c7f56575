#include "broker.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <keel/thread_name.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "common/file_util.hpp"
#include "plugins/plugin_config.hpp"
#include "security/authorizer.hpp"
#include "security/credential_store.hpp"
#include "storage/rewrite_progress.hpp"

namespace keel {
namespace fs = std::filesystem;

namespace {

constexpr const char* kCleanMarker = ".clean-shutdown";
// Users and their SCRAM credentials (security::CredentialStore).
constexpr const char* kSecurityDir = ".security";
constexpr const char* kCheckpointFile = "recovery-points";
constexpr const char* kLockFile = ".lock";

}  // namespace

Broker::Broker(BrokerConfig config, const Clock* clock)
    : config_(std::move(config)),
      clock_(clock ? clock : &system_clock_),
      request_budget_(config_.queued_max_request_bytes),
      flusher_(clock_, &metrics_),
      cluster_view_(std::make_unique<ClusterView>(config_.cluster)) {
  make_broker_api(this, &api_);
}

Broker::~Broker() {
  try {
    stop();
  } catch (const std::exception& e) {
    spdlog::error("shutdown failed: {}", e.what());
  }
}

void Broker::lock_data_dir() {
  std::error_code ec;
  fs::create_directories(config_.data_dir, ec);
  if (ec) {
    fail(KEEL_ERR_IO, "cannot create data dir '" + config_.data_dir + "': " + ec.message() +
                          "; set broker.data_dir (or --data-dir) to a writable directory");
  }
  const std::string path = config_.data_dir + "/" + kLockFile;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fail(KEEL_ERR_IO, "cannot open '" + path + "': " + errno_text(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw DataDirLockedError(KEEL_ERR_UNAVAILABLE,
                             "data dir '" + config_.data_dir +
                                 "' is in use by another Keel broker; stop it or choose another --data-dir");
  }
  lock_fd_ = fd;
}

ConfigCheck Broker::check_config() {
  if (!registry_)
    registry_ = std::make_unique<PluginRegistry>(plugin_search_path(config_.plugin_path), clock_);
  return keel::check_config(config_, *registry_, clock_, &api_);
}

void Broker::start() {
  if (started_) return;
  started_ = true;
  const int64_t t0 = monotonic_ns();
  // The whole configuration is judged before the data dir is touched: a
  // mistake in it must not create the directory or cost the next start its
  // clean-shutdown marker.
  const ConfigCheck check = check_config();
  if (!check.ok()) throw ConfigError(KEEL_ERR_INVALID_ARGUMENT, check.message(config_));
  lock_data_dir();
  const std::string marker = config_.data_dir + "/" + kCleanMarker;
  const bool clean = fs::exists(marker);
  bool fresh = true;
  for (const auto& e : fs::directory_iterator(config_.data_dir)) {
    if (e.is_directory()) fresh = false;
  }
  if (!clean && !fresh) {
    spdlog::warn("no clean-shutdown marker in '{}': the last stop was unclean; verifying recent segments",
                 config_.data_dir);
  }
  // From here until the next clean stop, a crash must look unclean.
  fs::remove(marker);
  fsync_dir(config_.data_dir);

  credentials_ = std::make_unique<security::CredentialStore>(config_.data_dir + "/" + kSecurityDir);
  open_authorizer();
  opening_topics_ = true;
  load_topics(clean || fresh);
  open_producer_ids();
  register_collectors();
  register_cluster_collectors();

  flusher_.set_writeback_bytes(config_.writeback_bytes);
  flusher_.start();
  open_offsets();
  last_retention_ms_ = last_checkpoint_ms_ = last_offsets_flush_ms_ = clock_->now_ms();
  maint_thread_ = std::thread([this] {
    name_this_thread("maintenance");
    maintenance_loop();
  });
  start_transports();
  start_replication();
  start_cluster();
  ready_ = true;
  spdlog::info("broker ready in {} ms: {} topic(s), data in '{}'", (monotonic_ns() - t0) / 1000000,
               topics().size(), config_.data_dir);
}

void Broker::open_authorizer() {
  if (!config_.authorizer.enabled) return;
  // The strategy's rules live beside the users, in the 0700 security
  // directory: who may do what is as sensitive as who is who.
  const std::string dir =
      config_.data_dir + "/" + kSecurityDir + "/authorizer-" + config_.authorizer.strategy;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(KEEL_ERR_IO, "cannot create the authorizer's directory '" + dir + "': " + ec.message());
  authorizer_ = std::make_unique<security::Authorizer>(*registry_, config_.authorizer, dir, &metrics_,
                                                       [] { return monotonic_ns(); });
  spdlog::info("authorization: authorizer '{}' decides every request (rules in '{}')",
               config_.authorizer.strategy, dir);
}

void Broker::open_producer_ids() {
  // Above every id the logs hold, whatever the id file says (it may be
  // older than the logs if it was restored from a backup).
  int64_t highest = -1;
  for (const auto& t : topics()) {
    for (int32_t p = 0; p < t->partition_count(); ++p)
      highest = std::max(highest, t->partition(p)->max_producer_id());
  }
  producer_ids_ = std::make_unique<ProducerIds>(config_.data_dir + "/producer-ids", highest + 1, *clock_);
}

int64_t Broker::init_producer_id() {
  if (!ready_) fail(KEEL_ERR_UNAVAILABLE, "broker is not ready");
  return producer_ids_->allocate();
}

void Broker::load_topics(bool clean) {
  // Leftovers of deletions interrupted by a crash.
  std::map<std::string, int32_t> on_disk;
  static const std::regex partition_dir(R"((.+)-(\d+))");
  for (const auto& e : fs::directory_iterator(config_.data_dir)) {
    if (!e.is_directory()) continue;
    const std::string name = e.path().filename().string();
    if (name.starts_with(".")) continue;  // the broker's own (.topics)
    if (name.ends_with(".deleted")) {
      fs::remove_all(e.path());
      continue;
    }
    std::smatch m;
    if (std::regex_match(name, m, partition_dir) && valid_topic_name(m[1].str())) {
      on_disk[m[1].str()] = std::max(on_disk[m[1].str()], std::stoi(m[2].str()) + 1);
    } else {
      spdlog::warn("ignoring '{}' in the data dir: not a <topic>-<partition> directory", e.path().string());
    }
  }
  for (const auto& t : config_.topics) {
    open_topic(t, clean, true);
    on_disk.erase(t.name);
  }
  for (const auto& [name, partitions] : on_disk) {
    TopicConfig t = config_for_discovered(name);
    t.partitions = partitions;
    open_topic(t, clean, true);
  }
}

std::shared_ptr<Topic> Broker::open_topic(TopicConfig cfg, bool clean, bool existing) {
  // The checkpoint tells, even after a clean stop, which offsets were
  // acknowledged: a damaged log is never allowed to end below them. A topic
  // created now has nothing there (delete_topic rewrites the checkpoint).
  auto checkpoint = existing ? read_checkpoint() : std::map<std::string, int64_t>{};
  cfg.producer_id_expiration_ms = config_.producer_id_expiration_ms;
  cfg.replicated = config_.cluster.enabled;
  auto topic = std::make_shared<Topic>(cfg, *registry_, config_.data_dir, clock_);
  topic->set_spare_maker(&spare_maker_);
  topic->open(clean, [&](int32_t p) {
    auto it = checkpoint.find(cfg.name + " " + std::to_string(p));
    return it == checkpoint.end() ? 0 : it->second;
  });
  auto problems = topic->config_problems();
  if (!problems.empty()) {
    throw ConfigError(KEEL_ERR_INVALID_ARGUMENT,
                      "configuration of topic '" + cfg.name + "' is invalid:" + problem_lines(problems));
  }
  std::unique_lock lock(topics_mu_);
  topics_[cfg.name] = topic;
  return topic;
}

std::shared_ptr<Topic> Broker::find_topic(const std::string& name) const {
  std::shared_lock lock(topics_mu_);
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second;
}

std::shared_ptr<Topic> Broker::get_topic(const std::string& name, bool create) {
  if (auto t = find_topic(name)) return t;
  if (!create) return nullptr;
  if (auto known = cluster_topic(name)) {
    // Auto-creation of a topic the cluster has: its own partitions and
    // settings, not this broker's defaults.
    try {
      return create_topic(name, static_cast<int32_t>(known->assignment.size()), known->settings_toml);
    } catch (const Error& e) {
      if (e.code() != KEEL_ERR_ALREADY_EXISTS) throw;
      if (auto t = find_topic(name)) return t;
      throw;
    }
  }
  std::lock_guard lock(create_mu_);
  if (auto t = find_topic(name)) return t;
  if (!valid_topic_name(name)) {
    fail(KEEL_ERR_INVALID_NAME, "invalid topic name '" + name + "': " + topic_name_rule());
  }
  spdlog::info("auto-creating topic '{}' with the topic defaults", name);
  auto t = open_topic(config_.topic_from_defaults(name), true, false);
  if (cluster_)
    cluster_->topic_created(name, t->partition_count(), "", false, t->config()->replication_factor);
  return t;
}

std::string Broker::saved_settings_path(const std::string& topic) const {
  return config_.data_dir + "/.topics/" + topic + ".toml";
}

TopicConfig Broker::config_for_discovered(const std::string& topic) const {
  const std::string path = saved_settings_path(topic);
  std::ifstream in(path);
  if (!in) return config_.topic_from_defaults(topic);
  std::stringstream text;
  text << in.rdbuf();
  return config_.topic_from_toml(topic, text.str(), ConfigOrigin{path});
}

std::shared_ptr<Topic> Broker::create_topic(const std::string& name, int32_t partitions,
                                            const std::string& settings_toml_in) {
  std::string settings_toml = settings_toml_in;
  if (auto known = cluster_topic(name)) {
    // The cluster has it already (made on another broker): the same topic
    // here, whatever this request asked for.
    const auto count = static_cast<int32_t>(known->assignment.size());
    if (partitions != count || settings_toml != known->settings_toml) {
      spdlog::info("topic '{}' exists in the cluster with {} partitions: created here as the cluster has it",
                   name, count);
    }
    partitions = count;
    settings_toml = known->settings_toml;
  }
  if (!valid_topic_name(name)) {
    fail(KEEL_ERR_INVALID_NAME, "invalid topic name '" + name + "': " + topic_name_rule());
  }
  if (partitions > 10000) fail(KEEL_ERR_INVALID_ARGUMENT, "at most 10000 partitions per topic");
  // The settings are the client's, not the config file's: their positions
  // are in TOML a transport may have built from JSON, so messages name the
  // request and the keys, not lines.
  const ConfigOrigin request{"the settings of the request creating topic '" + name + "'", false};
  TopicConfig cfg = settings_toml.empty() ? config_.topic_from_defaults(name)
                                          : config_.topic_from_toml(name, settings_toml, request);
  return create_configured_topic(std::move(cfg), partitions, settings_toml);
}

std::shared_ptr<Topic> Broker::create_configured_topic(TopicConfig cfg, int32_t partitions,
                                                       const std::string& settings_toml) {
  const std::string name = cfg.name;
  std::lock_guard lock(create_mu_);
  if (find_topic(name)) fail(KEEL_ERR_ALREADY_EXISTS, "topic '" + name + "' already exists");
  if (partitions > 0) cfg.partitions = partitions;
  std::shared_ptr<Topic> t;
  try {
    t = open_topic(cfg, true, false);
  } catch (...) {
    // Refused settings leave nothing behind.
    for (int32_t p = 0; p < cfg.partitions; ++p) {
      std::error_code ec;
      fs::remove_all(Topic::partition_dir(config_.data_dir, name, p), ec);
    }
    throw;
  }
  if (!settings_toml.empty()) {
    create_directories_durably(config_.data_dir + "/.topics");
    write_file_atomically(saved_settings_path(name), settings_toml);
  }
  spdlog::info("created topic '{}' with {} partition(s)", name, t->partition_count());
  if (cluster_) {
    cluster_->topic_created(name, t->partition_count(), settings_toml, is_internal(name),
                            t->config()->replication_factor);
  }
  return t;
}

void Broker::delete_topic(const std::string& name) {
  std::lock_guard lock(create_mu_);
  std::shared_ptr<Topic> topic;
  {
    std::unique_lock tl(topics_mu_);
    auto it = topics_.find(name);
    if (it == topics_.end()) fail(KEEL_ERR_NOT_FOUND, "unknown topic '" + name + "'");
    topic = it->second;
    topics_.erase(it);
  }
  topic->close(PartitionLog::Closing::Discard);
  for (int32_t p = 0; p < topic->partition_count(); ++p) {
    auto log = topic->partition(p);
    flusher_.forget(log.get());
    // Rename first: the name is free at once for a new topic, and readers
    // holding files keep reading them until they let go.
    const std::string doomed = log->dir() + "." + std::to_string(clock_->now_ms()) + ".deleted";
    std::error_code ec;
    fs::rename(log->dir(), doomed, ec);
    if (!ec) fs::remove_all(doomed, ec);
    if (ec) spdlog::warn("topic '{}': could not remove '{}': {}", name, log->dir(), ec.message());
  }
  // The settings file's removal must be as durable as the directories':
  // after a power cut, a stale one would give a topic created again under
  // this name the deleted topic's settings. A failure is reported once the
  // rest of the deletion is done, so that it never leaves that half-done.
  std::optional<Error> settings_failure;
  std::error_code removed_ec;
  try {
    if (fs::remove(saved_settings_path(name), removed_ec)) {
      sync_dir_or_fail(config_.data_dir + "/.topics",
                       "removing the saved settings of deleted topic '" + name + "'");
    }
    if (removed_ec) {
      fail(KEEL_ERR_IO, "topic '" + name + "' is deleted, but its saved settings '" +
                            saved_settings_path(name) + "' could not be removed: " + removed_ec.message() +
                            "; remove the file by hand");
    }
  } catch (const Error& e) {
    settings_failure = e;
  }
  fsync_dir(config_.data_dir);
  try {
    // A topic created again under this name must not inherit the old
    // recovery point (it would push the new log's end up to it).
    write_checkpoint();
  } catch (const std::exception& e) {
    spdlog::warn("deleted topic '{}' but could not rewrite the recovery checkpoint: {}", name, e.what());
  }
  offsets_->remove_topic(name);
  spdlog::info("deleted topic '{}'", name);
  if (cluster_) cluster_->topic_deleted(name);
  if (settings_failure) throw *settings_failure;
}

std::vector<std::shared_ptr<Topic>> Broker::topics() const {
  std::shared_lock lock(topics_mu_);
  std::vector<std::shared_ptr<Topic>> out;
  for (const auto& [n, t] : topics_) out.push_back(t);
  return out;
}

std::shared_ptr<PartitionLog> Broker::partition(const std::string& topic, int32_t p) const {
  auto t = find_topic(topic);
  if (!t) fail(KEEL_ERR_NOT_FOUND, "unknown topic '" + topic + "'");
  auto log = t->partition(p);
  if (!log) {
    fail(KEEL_ERR_NOT_FOUND, "topic '" + topic + "' has no partition " + std::to_string(p) + " (it has " +
                                 std::to_string(t->partition_count()) + ")");
  }
  return log;
}

FlushPolicy Broker::policy_of(const Topic& t) const {
  const auto cfg = t.config();
  const TopicConfig& c = *cfg;
  return FlushPolicy{c.flush_mode, c.flush_interval_ms, c.flush_messages};
}

namespace {

// The status a transport gets for a batch the producer state refused.
keel_status refusal_status(ProducerState::Verdict v) {
  switch (v) {
    case ProducerState::Verdict::kFenced:
      return KEEL_ERR_FENCED;
    case ProducerState::Verdict::kOutOfOrder:
      return KEEL_ERR_OUT_OF_ORDER;
    case ProducerState::Verdict::kUnknownProducer:
      return KEEL_ERR_UNKNOWN_PRODUCER;
    default:
      return KEEL_ERR_INTERNAL;
  }
}

}  // namespace

void Broker::produce(const std::string& topic_name, int32_t p, const uint8_t* data, size_t len, int32_t acks,
                     ProduceDone done, bool sync_here) {
  AppendResult result;
  std::shared_ptr<Topic> topic;
  std::shared_ptr<PartitionLog> log;
  try {
    if (!ready_) fail(KEEL_ERR_UNAVAILABLE, "broker is not ready");
    topic = get_topic(topic_name, config_.auto_create_topics);
    if (!topic) {
      fail(KEEL_ERR_NOT_FOUND,
           "unknown topic '" + topic_name + "'; create it first or set broker.auto_create_topics = true");
    }
    log = partition(topic_name, p);
    const int32_t epoch = require_leadership(topic_name, p);
    if (acks == KEEL_ACKS_ALL) check_replicas_for_acks_all(topic_name, p);
    result = log->append(data, len, epoch);
    if (!result.refusal.empty()) fail(refusal_status(result.idempotence), result.refusal);
  } catch (const Error& e) {
    metrics_.counter_add("keel_produce_errors_total", "topic=\"" + topic_name + "\"", 1);
    done(e.code(), e.what(), result);
    return;
  }
  const std::string labels = "topic=\"" + topic_name + "\"";
  metrics_.counter_add("keel_bytes_in_total", labels, static_cast<double>(result.bytes));
  metrics_.counter_add("keel_records_in_total", labels, static_cast<double>(result.records));
  if (acks == KEEL_ACKS_ALL) {
    // With sync_here, an idle partition's sync runs on this thread, saving
    // the hand-offs to the flusher thread and back (docs/performance.md,
    // "One event loop per thread, and the sync on it").
    await_durable(
        *topic, log, result.last_offset + 1,
        [done, result](keel_status s, const std::string& m) { done(s, m, result); },
        sync_here ? Flusher::SyncOn::CallerIfIdle : Flusher::SyncOn::FlusherThread);
  } else {
    await_durable(*topic, log, result.last_offset + 1, nullptr);
    done(KEEL_OK, "", result);
  }
}

ReadResult Broker::fetch(const std::string& topic, int32_t p, int64_t offset, int64_t max_bytes) {
  auto log = partition(topic, p);
  require_leadership(topic, p);
  ReadResult r = log->read(offset, max_bytes);
  if (r.length > 0) {
    const std::string labels = "topic=\"" + topic + "\"";
    metrics_.counter_add("keel_bytes_out_total", labels, static_cast<double>(r.length));
    metrics_.counter_add("keel_records_out_total", labels, static_cast<double>(r.records));
  }
  return r;
}

void Broker::start_transports() {
  for (const auto& tc : config_.transports) {
    if (!tc.enabled) continue;
    transports_.push_back(std::make_unique<TransportInstance>(*registry_, tc, &api_));
    transports_.back()->start();
  }
}

void Broker::stop_transports() {
  for (auto it = transports_.rbegin(); it != transports_.rend(); ++it) (*it)->stop();
}

void Broker::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  // Only a start that finished opened (and recovered) every topic: after a
  // failed one the clean marker would let the next start skip verifying the
  // topics that were never opened.
  const bool was_ready = ready_.exchange(false);
  stopping_ = true;
  // Leaving the cluster first hands this broker's leaderships over at once
  // (its session ends) rather than after the session TTL.
  stop_cluster();
  stop_replication();
  spdlog::info("shutting down: stopping transports");
  stop_transports();
  {
    std::lock_guard lock(maint_mu_);
    maint_stop_ = true;
  }
  maint_cv_.notify_all();
  if (maint_thread_.joinable()) maint_thread_.join();
  try {
    flush_offsets();
  } catch (const std::exception& e) {
    spdlog::error("writing the last committed offsets failed: {}; commits since the last flush are lost",
                  e.what());
  }
  flusher_.stop();
  // Before the topics close: no spare is allocated while they sync.
  spare_maker_.stop();
  // Destroyed only after the flusher stopped: its last acks=all callbacks
  // may still reach a transport's (stopped) connections.
  while (!transports_.empty()) transports_.pop_back();
  bool all_closed = true;
  for (auto& t : topics()) {
    try {
      t->close();
    } catch (const std::exception& e) {
      all_closed = false;
      spdlog::error("closing topic '{}' failed: {}", t->name(), e.what());
    }
  }
  if (!opening_topics_) {  // start() failed before it opened anything
    if (lock_fd_ >= 0) ::close(lock_fd_);
    lock_fd_ = -1;
    return;
  }
  try {
    write_checkpoint();
    if (all_closed && was_ready) write_file_atomically(config_.data_dir + "/" + kCleanMarker, "clean\n");
  } catch (const std::exception& e) {
    spdlog::error("shutdown could not write its markers ({}); the next start will verify recent segments",
                  e.what());
  }
  {
    std::unique_lock lock(topics_mu_);
    topics_.clear();
  }
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
  spdlog::info("broker stopped cleanly");
}

void Broker::maintenance_loop() {
  std::unique_lock lock(maint_mu_);
  const int64_t tick = std::min<int64_t>(
      {config_.retention_check_ms, config_.recovery_checkpoint_ms, config_.offsets.flush_interval_ms, 1000});
  while (!maint_stop_) {
    maint_cv_.wait_for(lock, std::chrono::milliseconds(tick));
    if (maint_stop_) break;
    lock.unlock();
    try {
      run_maintenance();
    } catch (const std::exception& e) {
      spdlog::error("maintenance pass failed: {}; will retry", e.what());
    }
    lock.lock();
  }
}

void Broker::run_maintenance() {
  // Called by the maintenance thread and by tests: one pass at a time, as
  // the pass reads and writes last_retention_ms_ / last_checkpoint_ms_.
  // maintenance_loop() calls it with maint_mu_ released.
  std::lock_guard lock(maint_mu_);
  const int64_t now = clock_->now_ms();
  for (auto& t : topics()) {
    t->roll_aged_segments();
    // Queues the sync of a segment rolled by age just now, by an append that
    // then failed (no Flusher::appended followed it), or whose sync failed:
    // a claim is one atomic exchange per partition.
    for (int32_t p = 0; p < t->partition_count(); ++p) {
      if (auto log = t->partition(p)) flusher_.rolled(log);
    }
  }
  if (now - last_retention_ms_ >= config_.retention_check_ms) {
    last_retention_ms_ = now;
    for (auto& t : topics()) {
      t->apply_retention(now, &stopping_, &metrics_);
      for (int32_t p = 0; p < t->partition_count(); ++p) t->partition(p)->expire_producers(now);
    }
  }
  if (!config_.offsets.flush_on_commit && now - last_offsets_flush_ms_ >= config_.offsets.flush_interval_ms) {
    last_offsets_flush_ms_ = now;
    try {
      flush_offsets();
    } catch (const std::exception& e) {
      spdlog::error("writing committed offsets failed: {}; they stay in memory and the next flush retries",
                    e.what());
    }
  }
  if (now - last_checkpoint_ms_ >= config_.recovery_checkpoint_ms) {
    last_checkpoint_ms_ = now;
    write_checkpoint();
  }
}

void Broker::write_checkpoint() {
  std::lock_guard lock(checkpoint_mu_);  // maintenance and delete_topic
  std::ostringstream out;
  out << "0\n";  // format version
  for (auto& t : topics()) {
    for (int32_t p = 0; p < t->partition_count(); ++p) {
      auto log = t->partition(p);
      out << t->name() << ' ' << p << ' ' << log->flushed_offset() << '\n';
      // In a cluster, the high watermark too: a restarted follower or
      // leader starts from it rather than from its log start.
      try {
        log->checkpoint_high_watermark();
      } catch (const Error& e) {
        spdlog::warn("{}: could not write its high watermark checkpoint: {}", log->name(), e.what());
      }
    }
  }
  write_file_atomically(config_.data_dir + "/" + kCheckpointFile, out.str());
}

std::map<std::string, int64_t> Broker::read_checkpoint() const {
  std::map<std::string, int64_t> out;
  std::ifstream in(config_.data_dir + "/" + kCheckpointFile);
  std::string version;
  if (!std::getline(in, version) || version != "0") return out;  // absent: verify everything
  std::string topic;
  int32_t p = 0;
  int64_t off = 0;
  while (in >> topic >> p >> off) out[topic + " " + std::to_string(p)] = off;
  return out;
}

void Broker::register_collectors() {
  metrics_.describe("keel_log_size_bytes", "Bytes stored in a partition's segments");
  metrics_.describe("keel_log_segments", "Segments of a partition");
  metrics_.describe("keel_log_start_offset", "First offset still stored (low watermark)");
  metrics_.describe("keel_log_end_offset", "Next offset to be assigned");
  metrics_.describe("keel_high_watermark",
                    "Offsets below it are readable by consumers (in a cluster: on every in-sync replica)");
  metrics_.describe("keel_bytes_in_total", "Record batch bytes appended per topic");
  metrics_.describe("keel_records_in_total", "Records appended per topic");
  metrics_.describe("keel_bytes_out_total", "Record batch bytes read by consumers per topic");
  metrics_.describe("keel_flush_seconds",
                    "Time of one fdatasync of a partition (by the flusher thread, or by a request's thread)");
  metrics_.describe("keel_flushes_on_request_thread_total",
                    "Syncs acks=all ran on the thread that appended (an idle every-batch partition, a "
                    "request alone on its connection) instead of the flusher thread");
  metrics_.describe("keel_records_out_total", "Records in the batches read by consumers per topic");
  metrics_.describe("keel_consumer_lag", "Log end offset minus the group's committed offset");
  metrics_.describe("keel_log_damaged_ranges",
                    "Quarantined damaged byte ranges and missing offset ranges of a partition (the log names "
                    "file, position and offsets)");
  metrics_.describe("keel_log_damaged_offsets", "Offsets of a partition that damage makes unreadable");
  RewriteProgress::describe(metrics_);
  metrics_.describe("keel_queued_request_bytes",
                    "Bytes of requests the transports hold in memory (capped by queued_max_request_bytes)");
  metrics_.add_collector([this](Metrics& sink) {
    sink.gauge_set("keel_queued_request_bytes", "", static_cast<double>(request_budget_.used()));
    for (const auto& t : topics()) {
      for (int32_t p = 0; p < t->partition_count(); ++p) {
        auto log = t->partition(p);
        const std::string labels = "topic=\"" + t->name() + "\",partition=\"" + std::to_string(p) + "\"";
        sink.gauge_set("keel_log_size_bytes", labels, static_cast<double>(log->size_bytes()));
        sink.gauge_set("keel_log_segments", labels, static_cast<double>(log->segment_count()));
        sink.gauge_set("keel_log_start_offset", labels, static_cast<double>(log->log_start_offset()));
        sink.gauge_set("keel_log_end_offset", labels, static_cast<double>(log->log_end_offset()));
        sink.gauge_set("keel_high_watermark", labels, static_cast<double>(log->high_watermark()));
        const auto damage = log->damaged_ranges();
        int64_t hidden = 0;
        for (const auto& d : damage) hidden += std::max<int64_t>(0, d.last_offset - d.first_offset + 1);
        sink.gauge_set("keel_log_damaged_ranges", labels, static_cast<double>(damage.size()));
        sink.gauge_set("keel_log_damaged_offsets", labels, static_cast<double>(hidden));
      }
    }
    for (const auto& group : offsets_->groups()) {
      for (const auto& [tp, committed] : offsets_->group_offsets(group)) {
        auto t = find_topic(tp.first);
        auto log = t ? t->partition(tp.second) : nullptr;
        if (!log || committed.offset < 0) continue;
        std::string escaped;  // group ids are free text: escape for the label syntax
        for (char c : group) {
          if (c == '\n') {
            escaped += "\\n";
            continue;
          }
          if (c == '\\' || c == '"') escaped += '\\';
          escaped += c;
        }
        const std::string labels = "group=\"" + escaped + "\",topic=\"" + tp.first + "\",partition=\"" +
                                   std::to_string(tp.second) + "\"";
        sink.gauge_set("keel_consumer_lag", labels,
                       static_cast<double>(std::max<int64_t>(0, log->high_watermark() - committed.offset)));
      }
    }
  });
}

}  // namespace keel
