// Header-only C++ view of the broker API (keel_broker_api) for transports:
// plain values out, keel_status back (no exceptions), std::function
// callbacks. Both built-in transports use it; an out-of-tree transport can
// too.
//
// Works with every 2.x broker: members a later minor added (2.1:
// init_producer_id, keel_produce_result.duplicate; 2.2: delete_group,
// delete_group_offsets, topic_settings, alter_topic, create_partitions,
// delete_records, log_dir; 2.3: advertise_listener, cluster_info,
// brokers, partition_state, offset_for_leader_epoch; 2.4: the SASL and
// SCRAM credential members; 2.5: authorize and the ACL members; 2.6:
// loaded_strategies, list_segments, describe_group, publish_group; 2.7:
// produce's flags, compiled out for an older KEEL_TARGET_ABI_MINOR and
// dropped when the table lacks produce_flags) are checked with
// KEEL_HAS_FIELD before use and answer KEEL_ERR_UNSUPPORTED (or their 2.0
// default) from an older broker.
//
// Names cross the C ABI as C strings: one holding a NUL would be cut short
// there and name another topic or group ("victim\0junk" -> "victim"). No
// such topic can exist (Kafka's rule) and no such group is stored, so
// lookups with such a name find nothing and writes are refused here.
//
// Threads: as the C API; every member is const and safe from any thread.
#pragma once

#include <keel/plugin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <keel/group_view_c.hpp>
#include <keel/operator_views.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel::sdk {

struct TopicInfo {
  std::string name;
  int32_t partitions = 0;
  bool internal = false;
};

// One setting of a topic (2.2): a key of a [topics.<name>] table in TOML
// dotted form, its TOML value, and whether the topic sets it itself.
struct TopicSetting {
  std::string key;
  std::string value;
  bool own = false;
};

struct TopicDetails {
  std::string partitioner;
  std::vector<std::string> index;
  std::vector<std::string> retention;
  int64_t segment_bytes = 0;
  int64_t segment_ms = 0;
  int64_t max_batch_bytes = 0;
  std::string flush_mode;
  bool declared = false;
};

struct GroupOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  std::string metadata;
};

// The outcome of a produce, copied out of the C result (which lives for the
// callback only).
struct ProduceResult {
  keel_status status = KEEL_OK;
  int64_t base_offset = -1;
  int64_t log_append_time = -1;
  int64_t log_start_offset = -1;
  bool duplicate = false;  // 2.1; always false from a 2.0 broker
  std::string message;     // empty when OK
};

// The cluster as the broker sees it (2.3).
struct ClusterInfo {
  int32_t broker_id = 0;
  int32_t controller_id = -1;
  bool clustered = false;
  std::string cluster_id;
};

// A live broker and where it serves one listener (2.3).
struct BrokerEndpoint {
  int32_t id = 0;
  std::string host;
  int32_t port = 0;
  std::string rack;
};

// Who serves a partition (2.3); leader -1 while there is none.
struct PartitionState {
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
};

// Metric labels as name/value pairs; values are escaped by the broker.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A fetched byte range of a segment file, released when it goes.
class FetchedRange {
 public:
  FetchedRange(const keel_broker_api* api, const keel_fetch_result& r) : api_(api), r_(r) {}
  FetchedRange(const FetchedRange&) = delete;
  FetchedRange& operator=(const FetchedRange&) = delete;
  ~FetchedRange() { api_->release_fetch(api_->ctx, &r_); }
  const keel_fetch_result& result() const { return r_; }
  int fd() const { return r_.fd; }
  int64_t position() const { return r_.file_position; }
  int64_t length() const { return r_.length; }
  // The partition's watermarks when the range was fetched.
  keel_watermarks watermarks() const {
    keel_watermarks w{};
    w.struct_size = sizeof w;
    w.log_start_offset = r_.log_start_offset;
    w.high_watermark = r_.high_watermark;
    w.log_end_offset = r_.log_end_offset;
    return w;
  }

 private:
  const keel_broker_api* api_;
  keel_fetch_result r_;
};

class Broker {
 public:
  explicit Broker(const keel_broker_api* api) : api_(api) {}
  const keel_broker_api* raw() const { return api_; }

  // ---- topics
  std::vector<TopicInfo> list_topics() const {
    std::vector<TopicInfo> out;
    api_->list_topics(
        api_->ctx,
        [](void* user, const keel_topic_info* t) {
          static_cast<std::vector<TopicInfo>*>(user)->push_back(info(t));
        },
        &out);
    return out;
  }
  // nullopt when there is no such topic (or the broker failed to say).
  std::optional<TopicInfo> describe_topic(const std::string& name) const {
    if (cut_short(name)) return std::nullopt;
    std::optional<TopicInfo> out;
    const keel_status s = api_->describe_topic(
        api_->ctx, name.c_str(),
        [](void* user, const keel_topic_info* t) { *static_cast<std::optional<TopicInfo>*>(user) = info(t); },
        &out);
    return s == KEEL_OK ? out : std::nullopt;
  }
  keel_status topic_details(const std::string& name, TopicDetails* out) const {
    if (cut_short(name)) return KEEL_ERR_NOT_FOUND;
    return api_->topic_details(
        api_->ctx, name.c_str(),
        [](void* user, const keel_topic_details* d) {
          auto& o = *static_cast<TopicDetails*>(user);
          o.partitioner = d->partitioner ? d->partitioner : "";
          for (uint32_t i = 0; i < d->index_count; ++i) o.index.emplace_back(d->index[i]);
          for (uint32_t i = 0; i < d->retention_count; ++i) o.retention.emplace_back(d->retention[i]);
          o.segment_bytes = d->segment_bytes;
          o.segment_ms = d->segment_ms;
          o.max_batch_bytes = d->max_batch_bytes;
          o.flush_mode = d->flush_mode ? d->flush_mode : "";
          o.declared = d->declared != 0;
        },
        out);
  }
  // `settings_toml`: the keys of a [topics.<name>] table; "" = the defaults.
  keel_status create_topic(const std::string& name, int32_t partitions, const std::string& settings_toml,
                           std::string* message) const {
    if (cut_short(name))
      return refuse(KEEL_ERR_INVALID_NAME, "invalid topic name: it holds a NUL byte", message);
    keel_create_topic_args args{};
    args.struct_size = sizeof args;
    args.partitions = partitions;
    args.name = name.c_str();
    args.settings_toml = settings_toml.c_str();
    keel_error err{};
    return with_message(api_->create_topic(api_->ctx, &args, &err), err, message);
  }
  keel_status delete_topic(const std::string& name, std::string* message) const {
    if (cut_short(name))
      return refuse(KEEL_ERR_NOT_FOUND, "unknown topic: its name holds a NUL byte", message);
    keel_error err{};
    return with_message(api_->delete_topic(api_->ctx, name.c_str(), &err), err, message);
  }
  bool auto_create_topics() const { return api_->auto_create_topics(api_->ctx) != 0; }
  // `key` nullopt is a null key.
  keel_status choose_partition(const std::string& topic, const std::optional<std::string_view>& key,
                               int32_t* partition, std::string* message) const {
    if (cut_short(topic))
      return refuse(KEEL_ERR_INVALID_NAME, "invalid topic name: it holds a NUL byte", message);
    const auto* data = key ? reinterpret_cast<const uint8_t*>(key->data()) : nullptr;
    keel_error err{};
    return with_message(
        api_->choose_partition(api_->ctx, topic.c_str(), data, key ? key->size() : 0, partition, &err), err,
        message);
  }

  // ---- data path
  // `done` runs exactly once, maybe on a broker thread, maybe before
  // produce returns. `flags`: KEEL_PRODUCE_* (2.7); hints, so they are
  // dropped when the broker's table has no produce_flags.
  using ProduceDone = std::function<void(const ProduceResult&)>;
  void produce(const std::string& topic, int32_t partition, const uint8_t* data, size_t len, int32_t acks,
               ProduceDone done, uint32_t flags = 0) const {
    if (cut_short(topic)) {
      ProduceResult r;
      r.status = KEEL_ERR_NOT_FOUND;
      r.message = "unknown topic: its name holds a NUL byte";
      return done(r);
    }
    auto* boxed = new ProduceDone(std::move(done));
    const keel_produce_callback answer = [](void* user, const keel_produce_result* c) {
      std::unique_ptr<ProduceDone> cb(static_cast<ProduceDone*>(user));
      ProduceResult r;
      r.status = c->status;
      r.base_offset = c->base_offset;
      r.log_append_time = c->log_append_time;
      r.log_start_offset = c->log_start_offset;
      r.duplicate = duplicate_of(c);
      if (c->message != nullptr) r.message = c->message;
      (*cb)(r);
    };
#if KEEL_TARGET_ABI_MINOR >= 7
    if (flags != 0 && KEEL_HAS_FIELD(api_, keel_broker_api, produce_flags) &&
        api_->produce_flags != nullptr) {
      return api_->produce_flags(api_->ctx, topic.c_str(), partition, data, len, acks, flags, answer, boxed);
    }
#else
    (void)flags;
#endif
    api_->produce(api_->ctx, topic.c_str(), partition, data, len, acks, answer, boxed);
  }
  keel_status fetch(const std::string& topic, int32_t partition, int64_t offset, int64_t max_bytes,
                    std::unique_ptr<FetchedRange>* out, std::string* message) const {
    if (cut_short(topic))
      return refuse(KEEL_ERR_NOT_FOUND, "unknown topic: its name holds a NUL byte", message);
    keel_fetch_result r{};
    r.struct_size = sizeof r;
    keel_error err{};
    const keel_status s = api_->fetch(api_->ctx, topic.c_str(), partition, offset, max_bytes, &r, &err);
    if (s == KEEL_OK) *out = std::make_unique<FetchedRange>(api_, r);
    return with_message(s, err, message);
  }
  keel_status watermarks(const std::string& topic, int32_t partition, keel_watermarks* out) const {
    if (cut_short(topic)) return KEEL_ERR_NOT_FOUND;
    *out = keel_watermarks{};
    out->struct_size = sizeof *out;
    return api_->watermarks(api_->ctx, topic.c_str(), partition, out);
  }
  // *offset = -1 when no record has a timestamp >= ts.
  keel_status offset_for_time(const std::string& topic, int32_t partition, int64_t ts, int64_t* offset,
                              int64_t* found_ts) const {
    if (cut_short(topic)) return KEEL_ERR_NOT_FOUND;
    return api_->offset_for_time(api_->ctx, topic.c_str(), partition, ts, offset, found_ts);
  }
  // The C callback as the broker calls it (once; see keel_watch_callback).
  keel_status watch(const std::string& topic, int32_t partition, int64_t offset, keel_watch_callback cb,
                    void* user, keel_watch** out) const {
    if (cut_short(topic)) return KEEL_ERR_NOT_FOUND;
    return api_->watch(api_->ctx, topic.c_str(), partition, offset, cb, user, out);
  }
  void unwatch(keel_watch* w) const { api_->unwatch(api_->ctx, w); }
  keel_status partition_health(const std::string& topic, int32_t partition,
                               keel_partition_health* out) const {
    if (cut_short(topic)) return KEEL_ERR_NOT_FOUND;
    *out = keel_partition_health{};
    out->struct_size = sizeof *out;
    return api_->partition_health(api_->ctx, topic.c_str(), partition, out);
  }

  // ---- consumer groups
  struct Commit {
    std::string group;
    std::string member_id;                      // "" outside a group protocol
    int32_t generation = KEEL_GENERATION_NONE;  // ditto
    std::vector<GroupOffset> offsets;
  };
  // `done(status, message)` runs exactly once, maybe on a broker thread,
  // maybe before commit_offsets returns; message is "" when OK.
  using CommitDone = std::function<void(keel_status, const std::string&)>;
  void commit_offsets(const Commit& commit, CommitDone done) const {
    if (cut_short(commit.group) || cut_short(commit.member_id)) {
      return done(KEEL_ERR_INVALID_NAME, "the group or member id holds a NUL byte");
    }
    std::vector<keel_offset_commit> offsets;
    offsets.reserve(commit.offsets.size());
    for (const auto& o : commit.offsets) {
      if (cut_short(o.topic) || cut_short(o.metadata)) {
        return done(KEEL_ERR_INVALID_ARGUMENT, "a topic name or metadata of the commit holds a NUL byte");
      }
      keel_offset_commit c{};
      c.struct_size = sizeof c;
      c.partition = o.partition;
      c.topic = o.topic.c_str();
      c.offset = o.offset;
      c.metadata = o.metadata.c_str();
      offsets.push_back(c);
    }
    keel_group_commit c{};
    c.struct_size = sizeof c;
    c.generation = commit.generation;
    c.group = commit.group.c_str();
    c.member_id = commit.member_id.c_str();
    c.offsets = offsets.data();
    c.offset_count = offsets.size();
    c.offset_size = sizeof(keel_offset_commit);
    auto* boxed = new CommitDone(std::move(done));
    api_->commit_offsets(
        api_->ctx, &c,
        [](void* user, keel_status s, const char* message) {
          std::unique_ptr<CommitDone> cb(static_cast<CommitDone*>(user));
          (*cb)(s, message != nullptr ? message : "");
        },
        boxed);
  }
  // Publishes a group's generation and members for commit fencing; an empty
  // list (with KEEL_GENERATION_NONE) says the group is empty.
  keel_status set_group_members(const std::string& group, int32_t generation,
                                const std::vector<std::string>& member_ids, std::string* message) const {
    if (cut_short(group)) return refuse(KEEL_ERR_INVALID_NAME, "the group id holds a NUL byte", message);
    std::vector<const char*> ids;
    for (const auto& m : member_ids) ids.push_back(m.c_str());
    keel_group_members g{};
    g.struct_size = sizeof g;
    g.generation = generation;
    g.group = group.c_str();
    g.member_ids = ids.empty() ? nullptr : ids.data();
    g.member_count = ids.size();
    keel_error err{};
    return with_message(api_->set_group_members(api_->ctx, &g, &err), err, message);
  }
  // *offset = -1 when nothing was committed.
  keel_status fetch_offset(const std::string& group, const std::string& topic, int32_t partition,
                           int64_t* offset, std::string* metadata) const {
    if (cut_short(group) || cut_short(topic)) {
      *offset = -1;  // nothing is ever committed under such a name
      return KEEL_OK;
    }
    return api_->fetch_offset(
        api_->ctx, group.c_str(), topic.c_str(), partition, offset,
        [](void* user, const char* m) {
          if (user != nullptr) *static_cast<std::string*>(user) = m != nullptr ? m : "";
        },
        metadata);
  }
  // Empty when the group has committed nothing.
  std::vector<GroupOffset> group_offsets(const std::string& group, keel_status* status = nullptr) const {
    std::vector<GroupOffset> out;
    keel_status s = KEEL_ERR_NOT_FOUND;
    if (!cut_short(group)) {
      s = api_->group_offsets(
          api_->ctx, group.c_str(),
          [](void* user, const char* topic, int32_t partition, int64_t offset, const char* metadata) {
            static_cast<std::vector<GroupOffset>*>(user)->push_back(
                {topic, partition, offset, metadata ? metadata : ""});
          },
          &out);
    }
    if (status != nullptr) *status = s == KEEL_ERR_NOT_FOUND ? KEEL_OK : s;
    return out;
  }
  // Groups with committed offsets or stored metadata.
  std::vector<std::string> list_groups() const {
    std::vector<std::string> out;
    api_->list_groups(
        api_->ctx,
        [](void* user, const char* g) { static_cast<std::vector<std::string>*>(user)->emplace_back(g); },
        &out);
    return out;
  }
  keel_status store_group_metadata(const std::string& group, const std::string& metadata,
                                   std::string* message) const {
    if (cut_short(group)) return refuse(KEEL_ERR_INVALID_NAME, "the group id holds a NUL byte", message);
    keel_error err{};
    return with_message(api_->store_group_metadata(api_->ctx, group.c_str(), metadata.c_str(), &err), err,
                        message);
  }
  std::optional<std::string> group_metadata(const std::string& group) const {
    if (cut_short(group)) return std::nullopt;
    std::optional<std::string> out;
    api_->group_metadata(
        api_->ctx, group.c_str(),
        [](void* user, const char* m) { *static_cast<std::optional<std::string>*>(user) = m; }, &out);
    return out;
  }

  // ---- metrics
  void counter_add(const char* name, const Labels& labels, double delta) const {
    const auto l = c_labels(labels);
    api_->counter_add(api_->ctx, name, l.empty() ? nullptr : l.data(), l.size(), delta);
  }
  void gauge_set(const char* name, const Labels& labels, double value) const {
    const auto l = c_labels(labels);
    api_->gauge_set(api_->ctx, name, l.empty() ? nullptr : l.data(), l.size(), value);
  }
  void histogram_observe(const char* name, const Labels& labels, double value) const {
    const auto l = c_labels(labels);
    api_->histogram_observe(api_->ctx, name, l.empty() ? nullptr : l.data(), l.size(), value);
  }
  std::string render_metrics() const {
    std::string out;
    api_->render_metrics(
        api_->ctx,
        [](void* user, const char* data, size_t len) { static_cast<std::string*>(user)->append(data, len); },
        &out);
    return out;
  }
  bool ready() const { return api_->ready(api_->ctx) != 0; }

  // ---- 2.1: idempotent producers (UNSUPPORTED from a 2.0 broker, and when
  // built with KEEL_TARGET_ABI_MINOR=0)
  bool has_init_producer_id() const {
#if KEEL_TARGET_ABI_MINOR >= 1
    return KEEL_HAS_FIELD(api_, keel_broker_api, init_producer_id) && api_->init_producer_id != nullptr;
#else
    return false;
#endif
  }
  keel_status init_producer_id(int32_t transaction_timeout_ms, const char* transactional_id,
                               int64_t* producer_id, int32_t* epoch, std::string* message) const {
    if (!has_init_producer_id()) {
      return refuse(KEEL_ERR_UNSUPPORTED, "the broker's ABI is older than 2.1: no idempotent producers",
                    message);
    }
#if KEEL_TARGET_ABI_MINOR >= 1
    keel_init_producer_args args{};
    args.struct_size = sizeof args;
    args.transaction_timeout_ms = transaction_timeout_ms;
    args.transactional_id = transactional_id;
    keel_producer_identity id{};
    id.struct_size = sizeof id;
    keel_error err{};
    const keel_status s = api_->init_producer_id(api_->ctx, &args, &id, &err);
    if (s == KEEL_OK) {
      *producer_id = id.producer_id;
      *epoch = id.epoch;
    }
    return with_message(s, err, message);
#else
    (void)transaction_timeout_ms;
    (void)transactional_id;
    (void)producer_id;
    (void)epoch;
    return KEEL_ERR_UNSUPPORTED;
#endif
  }

  // ---- 2.2: consumer-group deletion (UNSUPPORTED from an older broker, and
  // when built with KEEL_TARGET_ABI_MINOR < 2)
  bool has_group_deletion() const {
#if KEEL_TARGET_ABI_MINOR >= 2
    return KEEL_HAS_FIELD(api_, keel_broker_api, delete_group_offsets) && api_->delete_group != nullptr &&
           api_->delete_group_offsets != nullptr;
#else
    return false;
#endif
  }
  keel_status delete_group(const std::string& group, std::string* message) const {
    if (!has_group_deletion()) {
      return refuse(KEEL_ERR_UNSUPPORTED, "the broker's ABI is older than 2.2: groups cannot be deleted",
                    message);
    }
    if (cut_short(group))
      return refuse(KEEL_ERR_NOT_FOUND, "unknown group: its id holds a NUL byte", message);
#if KEEL_TARGET_ABI_MINOR >= 2
    keel_error err{};
    return with_message(api_->delete_group(api_->ctx, group.c_str(), &err), err, message);
#else
    return KEEL_ERR_UNSUPPORTED;
#endif
  }
  keel_status delete_group_offsets(const std::string& group, const std::string& topic,
                                   const std::vector<int32_t>& partitions, std::string* message) const {
    if (!has_group_deletion()) {
      return refuse(KEEL_ERR_UNSUPPORTED, "the broker's ABI is older than 2.2: offsets cannot be deleted",
                    message);
    }
    if (cut_short(group))
      return refuse(KEEL_ERR_NOT_FOUND, "unknown group: its id holds a NUL byte", message);
    if (cut_short(topic)) return KEEL_OK;  // no such topic, so no such offset
#if KEEL_TARGET_ABI_MINOR >= 2
    keel_error err{};
    return with_message(api_->delete_group_offsets(api_->ctx, group.c_str(), topic.c_str(), partitions.data(),
                                                   partitions.size(), &err),
                        err, message);
#else
    return KEEL_ERR_UNSUPPORTED;
#endif
  }

  // ---- 2.2: topic settings at run time (UNSUPPORTED from an older broker)
  bool has_topic_settings() const {
#if KEEL_TARGET_ABI_MINOR >= 2
    return KEEL_HAS_FIELD(api_, keel_broker_api, alter_topic) && api_->topic_settings != nullptr &&
           api_->alter_topic != nullptr;
#else
    return false;
#endif
  }
  // The settings in effect for `topic`; nullptr: the topic defaults.
  keel_status topic_settings(const std::string* topic, std::vector<TopicSetting>* out) const {
    if (!has_topic_settings()) return KEEL_ERR_UNSUPPORTED;
    if (topic != nullptr && cut_short(*topic)) return KEEL_ERR_NOT_FOUND;
#if KEEL_TARGET_ABI_MINOR >= 2
    out->clear();
    return api_->topic_settings(
        api_->ctx, topic != nullptr ? topic->c_str() : nullptr,
        [](void* user, const char* key, const char* value, int32_t own) {
          static_cast<std::vector<TopicSetting>*>(user)->push_back(TopicSetting{key, value, own != 0});
        },
        out);
#else
    (void)out;
    return KEEL_ERR_UNSUPPORTED;
#endif
  }
  keel_status alter_topic(const std::string& name, const std::string& settings_toml, bool validate_only,
                          std::string* message) const {
    if (!has_topic_settings()) {
      return refuse(KEEL_ERR_UNSUPPORTED, "the broker's ABI is older than 2.2: topic settings cannot change",
                    message);
    }
    if (cut_short(name)) return refuse(KEEL_ERR_NOT_FOUND, "unknown topic (name holds a NUL byte)", message);
#if KEEL_TARGET_ABI_MINOR >= 2
    keel_alter_topic_args args{};
    args.struct_size = sizeof args;
    args.validate_only = validate_only ? 1 : 0;
    args.name = name.c_str();
    args.settings_toml = settings_toml.c_str();
    keel_error err{};
    return with_message(api_->alter_topic(api_->ctx, &args, &err), err, message);
#else
    (void)settings_toml;
    (void)validate_only;
    return KEEL_ERR_UNSUPPORTED;
#endif
  }

  // ---- 2.2: admin (KEEL_ERR_UNSUPPORTED from an older broker)
  bool has_admin() const {
#if KEEL_TARGET_ABI_MINOR >= 2
    return KEEL_HAS_FIELD(api_, keel_broker_api, log_dir) && api_->log_dir != nullptr;
#else
    return false;
#endif
  }
  keel_status create_partitions(const std::string& topic, int32_t partition_count, bool validate_only,
                                std::string* message) const {
    if (cut_short(topic)) return refuse(KEEL_ERR_NOT_FOUND, "unknown topic", message);
    if (!has_admin()) return refuse(KEEL_ERR_UNSUPPORTED, kNoAdmin, message);
#if KEEL_TARGET_ABI_MINOR >= 2
    keel_error err{};
    return with_message(
        api_->create_partitions(api_->ctx, topic.c_str(), partition_count, validate_only ? 1 : 0, &err), err,
        message);
#else
    (void)partition_count;
    (void)validate_only;
    return KEEL_ERR_UNSUPPORTED;
#endif
  }
  // offset -1 = the high watermark; *low_watermark: the log start after.
  keel_status delete_records(const std::string& topic, int32_t partition, int64_t offset,
                             int64_t* low_watermark, std::string* message) const {
    if (cut_short(topic)) return refuse(KEEL_ERR_NOT_FOUND, "unknown topic", message);
    if (!has_admin()) return refuse(KEEL_ERR_UNSUPPORTED, kNoAdmin, message);
#if KEEL_TARGET_ABI_MINOR >= 2
    keel_error err{};
    return with_message(
        api_->delete_records(api_->ctx, topic.c_str(), partition, offset, low_watermark, &err), err, message);
#else
    (void)partition;
    (void)offset;
    (void)low_watermark;
    return KEEL_ERR_UNSUPPORTED;
#endif
  }
  struct LogDir {
    std::string path;
    int64_t total_bytes = -1;
    int64_t usable_bytes = -1;
  };
  keel_status log_dir(LogDir* out, std::string* message) const {
    if (!has_admin()) return refuse(KEEL_ERR_UNSUPPORTED, kNoAdmin, message);
#if KEEL_TARGET_ABI_MINOR >= 2
    keel_log_dir_info info{};
    info.struct_size = sizeof info;
    keel_error err{};
    const keel_status s = api_->log_dir(api_->ctx, &info, &err);
    if (s == KEEL_OK) *out = LogDir{info.path ? info.path : "", info.total_bytes, info.usable_bytes};
    return with_message(s, err, message);
#else
    (void)out;
    return KEEL_ERR_UNSUPPORTED;
#endif
  }

  // ---- 2.3: the cluster. From an older broker: has_cluster() is false,
  // advertise_listener does nothing, cluster_info and partition_state are
  // nullopt / UNSUPPORTED and brokers() is empty: the transport then
  // describes a cluster of one itself.
  bool has_cluster() const {
#if KEEL_TARGET_ABI_MINOR >= 3
    // All four slots, as for the 2.2 groups: a table that has room for them
    // but leaves them NULL (a partial fake) describes no cluster.
    return KEEL_HAS_FIELD(api_, keel_broker_api, partition_state) && api_->advertise_listener != nullptr &&
           api_->cluster_info != nullptr && api_->list_brokers != nullptr && api_->partition_state != nullptr;
#else
    return false;
#endif
  }
  void advertise_listener(const std::string& listener, const std::string& host, int32_t port) const {
#if KEEL_TARGET_ABI_MINOR >= 3
    if (has_cluster()) api_->advertise_listener(api_->ctx, listener.c_str(), host.c_str(), port);
#else
    (void)listener;
    (void)host;
    (void)port;
#endif
  }
  std::optional<ClusterInfo> cluster_info() const {
#if KEEL_TARGET_ABI_MINOR >= 3
    if (!has_cluster()) return std::nullopt;
    keel_cluster_info c{};
    c.struct_size = sizeof c;
    api_->cluster_info(api_->ctx, &c);
    return ClusterInfo{c.broker_id, c.controller_id, c.clustered != 0, c.cluster_id ? c.cluster_id : ""};
#else
    return std::nullopt;
#endif
  }
  std::vector<BrokerEndpoint> brokers(const std::string& listener) const {
    std::vector<BrokerEndpoint> out;
#if KEEL_TARGET_ABI_MINOR >= 3
    if (!has_cluster()) return out;
    api_->list_brokers(
        api_->ctx, listener.c_str(),
        [](void* user, const keel_broker_info* b) {
          static_cast<std::vector<BrokerEndpoint>*>(user)->push_back(
              BrokerEndpoint{b->id, b->host ? b->host : "", b->port, b->rack ? b->rack : ""});
        },
        &out);
#else
    (void)listener;
#endif
    return out;
  }
  keel_status partition_state(const std::string& topic, int32_t partition, PartitionState* out) const {
    if (cut_short(topic)) return KEEL_ERR_NOT_FOUND;
#if KEEL_TARGET_ABI_MINOR >= 3
    if (!has_cluster()) return KEEL_ERR_UNSUPPORTED;
    return api_->partition_state(
        api_->ctx, topic.c_str(), partition,
        [](void* user, const keel_partition_state* st) {
          auto* o = static_cast<PartitionState*>(user);
          o->leader = st->leader;
          o->leader_epoch = st->leader_epoch;
          o->replicas.assign(st->replicas, st->replicas + st->replica_count);
          o->isr.assign(st->isr, st->isr + st->isr_count);
        },
        out);
#else
    (void)partition;
    (void)out;
    return KEEL_ERR_UNSUPPORTED;
#endif
  }
  // Where `leader_epoch` ends in the partition's log (OffsetForLeaderEpoch):
  // {-1, -1} for an epoch the log does not know. NOT_FOUND, NOT_LEADER;
  // UNSUPPORTED from a broker older than 2.3 or a 2.3 one without it.
  struct EpochEndOffset {
    int32_t epoch = -1;
    int64_t end_offset = -1;
  };
  keel_status offset_for_leader_epoch(const std::string& topic, int32_t partition, int32_t leader_epoch,
                                      EpochEndOffset* out, std::string* message) const {
    if (cut_short(topic)) return refuse(KEEL_ERR_NOT_FOUND, "unknown topic", message);
#if KEEL_TARGET_ABI_MINOR >= 3
    if (!KEEL_HAS_FIELD(api_, keel_broker_api, offset_for_leader_epoch) ||
        api_->offset_for_leader_epoch == nullptr) {
      return refuse(KEEL_ERR_UNSUPPORTED, "the broker's ABI does not offer offset_for_leader_epoch (2.3)",
                    message);
    }
    keel_error err{};
    return with_message(api_->offset_for_leader_epoch(api_->ctx, topic.c_str(), partition, leader_epoch,
                                                      &out->epoch, &out->end_offset, &err),
                        err, message);
#else
    (void)partition;
    (void)leader_epoch;
    (void)out;
    return refuse(KEEL_ERR_UNSUPPORTED, "the broker's ABI is older than 2.3: no offset_for_leader_epoch",
                  message);
#endif
  }

  // ---- 2.4: authentication. From an older broker has_sasl() is false,
  // sasl_mechanisms() is empty and the rest answer UNSUPPORTED: a
  // transport then cannot offer SASL listeners (it says so at start).
  bool has_sasl() const {
#if KEEL_TARGET_ABI_MINOR >= 4
    return KEEL_HAS_FIELD(api_, keel_broker_api, delete_scram_credential) &&
           api_->sasl_mechanisms != nullptr && api_->sasl_begin != nullptr && api_->sasl_step != nullptr &&
           api_->sasl_end != nullptr && api_->scram_credentials != nullptr &&
           api_->alter_scram_credential != nullptr && api_->delete_scram_credential != nullptr;
#else
    return false;
#endif
  }
  std::vector<std::string> sasl_mechanisms() const {
    std::vector<std::string> out;
#if KEEL_TARGET_ABI_MINOR >= 4
    if (!has_sasl()) return out;
    std::string all;
    api_->sasl_mechanisms(
        api_->ctx, [](void* user, const char* v) { *static_cast<std::string*>(user) = v ? v : ""; }, &all);
    size_t from = 0;
    while (from < all.size()) {
      const size_t comma = std::min(all.find(',', from), all.size());
      if (comma > from) out.push_back(all.substr(from, comma - from));
      from = comma + 1;
    }
#endif
    return out;
  }

  // One SASL exchange; ends (sasl_end) when destroyed. Not copyable.
  class SaslSession {
   public:
    struct Step {
      keel_status status = KEEL_OK;
      std::string challenge;  // the server's answer, to send to the client
      bool done = false;      // authenticated: principal holds the user
      std::string principal;
      std::string message;  // why it failed; safe to send to the client
    };
    SaslSession(const SaslSession&) = delete;
    SaslSession& operator=(const SaslSession&) = delete;
    ~SaslSession() {
#if KEEL_TARGET_ABI_MINOR >= 4
      if (session_ != nullptr) api_->sasl_end(api_->ctx, session_);
#endif
    }
    Step step(std::string_view token) {
      Step out;
#if KEEL_TARGET_ABI_MINOR >= 4
      keel_error err{};
      int32_t done = 0;
      out.status = api_->sasl_step(
          api_->ctx, session_, token.data(), token.size(),
          [](void* user, const char* data, size_t len) {
            static_cast<std::string*>(user)->assign(data, len);
          },
          &out.challenge, [](void* user, const char* v) { *static_cast<std::string*>(user) = v ? v : ""; },
          &out.principal, &done, &err);
      out.done = out.status == KEEL_OK && done != 0;
      if (out.status != KEEL_OK) out.message = err.message;
#else
      (void)token;
      out.status = KEEL_ERR_UNSUPPORTED;
#endif
      return out;
    }

   private:
    friend class Broker;
#if KEEL_TARGET_ABI_MINOR >= 4
    SaslSession(const keel_broker_api* api, keel_sasl_session* s) : api_(api), session_(s) {}
    const keel_broker_api* api_;
    keel_sasl_session* session_;
#endif
  };
  // nullptr and UNSUPPORTED (or the broker's refusal) in *status when the
  // mechanism is not offered.
  std::unique_ptr<SaslSession> sasl_begin(const std::string& mechanism, keel_status* status,
                                          std::string* message) const {
#if KEEL_TARGET_ABI_MINOR >= 4
    if (!has_sasl()) {
      *status = refuse(KEEL_ERR_UNSUPPORTED, "the broker's ABI is older than 2.4: no SASL", message);
      return nullptr;
    }
    keel_error err{};
    keel_sasl_session* s = nullptr;
    *status = with_message(api_->sasl_begin(api_->ctx, mechanism.c_str(), &s, &err), err, message);
    if (*status != KEEL_OK) return nullptr;
    return std::unique_ptr<SaslSession>(new SaslSession(api_, s));
#else
    (void)mechanism;
    *status = refuse(KEEL_ERR_UNSUPPORTED, "the broker's ABI is older than 2.4: no SASL", message);
    return nullptr;
#endif
  }

  struct ScramCredentialInfo {
    std::string user;
    std::string mechanism;
    int32_t iterations = 0;
  };
  std::vector<ScramCredentialInfo> scram_credentials() const {
    std::vector<ScramCredentialInfo> out;
#if KEEL_TARGET_ABI_MINOR >= 4
    if (!has_sasl()) return out;
    api_->scram_credentials(
        api_->ctx,
        [](void* user, const char* name, const char* mechanism, int32_t iterations) {
          static_cast<std::vector<ScramCredentialInfo>*>(user)->push_back(
              ScramCredentialInfo{name ? name : "", mechanism ? mechanism : "", iterations});
        },
        &out);
#endif
    return out;
  }
  keel_status alter_scram_credential(const std::string& user, const std::string& mechanism,
                                     int32_t iterations, std::string_view salt,
                                     std::string_view salted_password, std::string* message) const {
    if (cut_short(user)) return refuse(KEEL_ERR_INVALID_ARGUMENT, "a user name may not contain NUL", message);
#if KEEL_TARGET_ABI_MINOR >= 4
    if (!has_sasl())
      return refuse(KEEL_ERR_UNSUPPORTED, "the broker's ABI is older than 2.4: no SCRAM", message);
    keel_error err{};
    return with_message(
        api_->alter_scram_credential(api_->ctx, user.c_str(), mechanism.c_str(), iterations, salt.data(),
                                     salt.size(), salted_password.data(), salted_password.size(), &err),
        err, message);
#else
    (void)mechanism;
    (void)iterations;
    (void)salt;
    (void)salted_password;
    return refuse(KEEL_ERR_UNSUPPORTED, "the broker's ABI is older than 2.4: no SCRAM", message);
#endif
  }
  keel_status delete_scram_credential(const std::string& user, const std::string& mechanism,
                                      std::string* message) const {
    if (cut_short(user)) return refuse(KEEL_ERR_NOT_FOUND, "no such user", message);
#if KEEL_TARGET_ABI_MINOR >= 4
    if (!has_sasl())
      return refuse(KEEL_ERR_UNSUPPORTED, "the broker's ABI is older than 2.4: no SCRAM", message);
    keel_error err{};
    return with_message(api_->delete_scram_credential(api_->ctx, user.c_str(), mechanism.c_str(), &err), err,
                        message);
#else
    (void)mechanism;
    return refuse(KEEL_ERR_UNSUPPORTED, "the broker's ABI is older than 2.4: no SCRAM", message);
#endif
  }

  // ---- 2.5: authorization. The transport asks, the broker decides. From
  // an older broker, or one without an [authorizer], has_authorizer() is
  // false and every action is allowed (what such a broker always did); the
  // ACL members then answer UNSUPPORTED (Kafka's SECURITY_DISABLED).
  struct AuthzSubject {
    std::string principal = "User:ANONYMOUS";  // "User:alice", "User:CN=alice,O=Example"
    std::string host;                          // the client's address
    std::string listener;                      // for the broker's logs
  };
  struct AuthzAction {
    int8_t resource_type = 0;  // KEEL_RESOURCE_*
    int8_t operation = 0;      // KEEL_ACL_OP_*
    std::string_view name;
  };
  bool has_authorizer() const {
#if KEEL_TARGET_ABI_MINOR >= 5
    return KEEL_HAS_FIELD(api_, keel_broker_api, delete_acls) && api_->authorizer_enabled != nullptr &&
           api_->authorize != nullptr && api_->create_acl != nullptr && api_->describe_acls != nullptr &&
           api_->delete_acls != nullptr && api_->authorizer_enabled(api_->ctx) != 0;
#else
    return false;
#endif
  }
  // Whether `subject` may do each of `actions` (same order). log_denials =
  // false for questions whose "no" only filters a listing.
  std::vector<bool> authorize(const AuthzSubject& subject, const std::vector<AuthzAction>& actions,
                              bool log_denials = true) const {
    std::vector<bool> out(actions.size(), true);
#if KEEL_TARGET_ABI_MINOR >= 5
    if (actions.empty() || !has_authorizer()) return out;
    std::vector<keel_authz_action> cs(actions.size());
    for (size_t i = 0; i < actions.size(); ++i) cs[i] = c_action(actions[i]);
    std::vector<int32_t> results(actions.size(), KEEL_AUTHZ_DENIED);
    const keel_authz_subject sub = c_subject(subject);
    api_->authorize(api_->ctx, &sub, cs.data(), static_cast<uint32_t>(cs.size()), sizeof(keel_authz_action),
                    log_denials ? 1 : 0, results.data());
    for (size_t i = 0; i < actions.size(); ++i) out[i] = results[i] == KEEL_AUTHZ_ALLOWED;
#else
    (void)subject;
    (void)log_denials;
#endif
    return out;
  }
  // One action; allocates nothing.
  bool allowed(const AuthzSubject& subject, int8_t resource_type, int8_t operation, std::string_view name,
               bool log_denials = true) const {
#if KEEL_TARGET_ABI_MINOR >= 5
    return !has_authorizer() ||
           ask(subject, c_action(AuthzAction{resource_type, operation, name}), log_denials);
#else
    (void)subject;
    (void)resource_type;
    (void)operation;
    (void)name;
    (void)log_denials;
    return true;
#endif
  }

  // Whether `subject` may do `operation` on some resource of the type
  // (resource_name NULL in the ABI).
  bool allowed_on_some(const AuthzSubject& subject, int8_t resource_type, int8_t operation,
                       bool log_denials = true) const {
#if KEEL_TARGET_ABI_MINOR >= 5
    keel_authz_action a = c_action(AuthzAction{resource_type, operation, {}});
    a.resource_name = nullptr;  // "some resource of the type"
    a.resource_name_len = 0;
    return !has_authorizer() || ask(subject, a, log_denials);
#else
    (void)subject;
    (void)resource_type;
    (void)operation;
    (void)log_denials;
    return true;
#endif
  }

  struct AclBinding {
    int8_t resource_type = 0;  // KEEL_RESOURCE_*
    int8_t pattern_type = 0;   // KEEL_PATTERN_*
    int8_t operation = 0;      // KEEL_ACL_OP_*
    int8_t permission = 0;     // KEEL_ACL_PERMISSION_*
    std::string resource_name;
    std::string principal;
    std::string host;
  };
  // A filter: the *_ANY values, KEEL_PATTERN_MATCH and nullopt select anything.
  struct AclFilter {
    int8_t resource_type = 1;  // KEEL_RESOURCE_ANY
    int8_t pattern_type = 1;   // KEEL_PATTERN_ANY
    int8_t operation = 1;      // KEEL_ACL_OP_ANY
    int8_t permission = 1;     // KEEL_ACL_PERMISSION_ANY
    std::optional<std::string> resource_name;
    std::optional<std::string> principal;
    std::optional<std::string> host;
  };
  keel_status create_acl(const AclBinding& b, std::string* message) const {
    if (cut_short(b.resource_name) || cut_short(b.principal) || cut_short(b.host))
      return refuse(KEEL_ERR_INVALID_ARGUMENT, "an ACL binding's names may not contain NUL", message);
#if KEEL_TARGET_ABI_MINOR >= 5
    if (!has_authorizer()) return refuse(KEEL_ERR_UNSUPPORTED, kNoAuthorizer, message);
    const keel_acl_binding c = c_binding(b.resource_type, b.pattern_type, b.operation, b.permission,
                                         b.resource_name.c_str(), b.principal.c_str(), b.host.c_str());
    keel_error err{};
    return with_message(api_->create_acl(api_->ctx, &c, &err), err, message);
#else
    return refuse(KEEL_ERR_UNSUPPORTED, kNoAuthorizer, message);
#endif
  }
  keel_status describe_acls(const AclFilter& f, std::vector<AclBinding>* out, std::string* message) const {
    return acl_query(f, out, message, false);
  }
  // The bindings removed go to *out.
  keel_status delete_acls(const AclFilter& f, std::vector<AclBinding>* out, std::string* message) const {
    return acl_query(f, out, message, true);
  }

  // ---- 2.6: operators' views. From an older broker: has_operator_views()
  // is false, loaded_strategies() is empty, list_segments and
  // describe_group answer UNSUPPORTED / nullopt, and publish_group only
  // publishes the members to the commit fence.
  bool has_operator_views() const {
#if KEEL_TARGET_ABI_MINOR >= 6
    return KEEL_HAS_FIELD(api_, keel_broker_api, describe_group) && api_->list_strategies != nullptr &&
           api_->list_segments != nullptr && api_->describe_group != nullptr;
#else
    return false;
#endif
  }
  std::vector<LoadedStrategy> loaded_strategies() const {
    std::vector<LoadedStrategy> out;
#if KEEL_TARGET_ABI_MINOR >= 6
    if (!has_operator_views()) return out;
    api_->list_strategies(
        api_->ctx,
        [](void* user, const keel_loaded_strategy* s) {
          static_cast<std::vector<LoadedStrategy>*>(user)->push_back(
              LoadedStrategy{str(s->kind_name), str(s->name), str(s->plugin), str(s->version), str(s->path),
                             s->abi_major, s->abi_minor});
        },
        &out);
#endif
    return out;
  }
  keel_status list_segments(const std::string& topic, int32_t partition, std::vector<SegmentView>* out,
                            std::string* message) const {
    out->clear();
#if KEEL_TARGET_ABI_MINOR >= 6
    if (!has_operator_views()) return refuse(KEEL_ERR_UNSUPPORTED, kNoViews, message);
    if (cut_short(topic)) return refuse(KEEL_ERR_NOT_FOUND, "the topic name holds a NUL byte", message);
    keel_error err{};
    const keel_status s = api_->list_segments(
        api_->ctx, topic.c_str(), partition,
        [](void* user, const keel_segment_info* segments, size_t count, size_t size) {
          auto* v = static_cast<std::vector<SegmentView>*>(user);
          for (size_t i = 0; i < count; ++i) {
            const keel_segment_info* g = KEEL_ELEMENT(keel_segment_info, segments, size, i);
            v->push_back(SegmentView{g->base_offset, g->next_offset, g->size_bytes, g->max_timestamp,
                                     g->last_modified_ms, i + 1 == count});
          }
        },
        out, &err);
    return with_message(s, err, message);
#else
    (void)topic;
    (void)partition;
    return refuse(KEEL_ERR_UNSUPPORTED, kNoViews, message);
#endif
  }
  // nullopt when the broker knows no such group (or is older than 2.6).
  std::optional<GroupView> describe_group(const std::string& group) const {
#if KEEL_TARGET_ABI_MINOR >= 6
    if (!has_operator_views() || cut_short(group)) return std::nullopt;
    std::optional<GroupView> out;
    keel_error err{};
    api_->describe_group(
        api_->ctx, group.c_str(),
        [](void* user, const keel_group_members* g) {
          *static_cast<std::optional<GroupView>*>(user) = view_of(g);
        },
        &out, &err);
    return out;
#else
    (void)group;
    return std::nullopt;
#endif
  }
  // Publishes a group's generation and members for commit fencing (as
  // set_group_members) together with what operators' views show of them.
  // An empty view.members says the group is empty.
  keel_status publish_group(const GroupView& view, std::string* message) const {
    if (cut_short(view.group)) return refuse(KEEL_ERR_INVALID_NAME, "the group id holds a NUL byte", message);
    const GroupViewC c(view);
    keel_error err{};
    return with_message(api_->set_group_members(api_->ctx, c.get(), &err), err, message);
  }

 private:
  static constexpr const char* kNoViews =
      "this broker is older than plugin ABI 2.6 and offers no operators' views (segments, groups, plugins)";
  static std::string str(const char* s) { return s != nullptr ? s : ""; }
#if KEEL_TARGET_ABI_MINOR >= 6
  static GroupView view_of(const keel_group_members* g) {
    GroupView v;
    v.group = str(g->group);
    v.generation = g->generation;
    if (KEEL_HAS_FIELD(g, keel_group_members, member_size)) {
      v.state = str(g->state);
      v.protocol_type = str(g->protocol_type);
      v.protocol = str(g->protocol);
      v.leader_id = str(g->leader_id);
    }
    const bool detailed = KEEL_HAS_FIELD(g, keel_group_members, member_size) && g->members != nullptr;
    for (size_t i = 0; i < g->member_count; ++i) {
      GroupMemberView m;
      if (detailed) {
        const auto* info = KEEL_ELEMENT(keel_group_member_info, g->members, g->member_size, i);
        m.member_id = str(info->member_id);
        m.instance_id = str(info->group_instance_id);
        m.client_id = str(info->client_id);
        m.client_host = str(info->client_host);
        for (int32_t a = 0; a < info->assignment_count; ++a) {
          m.assignment.emplace_back(str(info->assignment_topics[a]), info->assignment_partitions[a]);
        }
      } else if (g->member_ids != nullptr) {
        m.member_id = str(g->member_ids[i]);
      }
      v.members.push_back(std::move(m));
    }
    return v;
  }
#endif

  static constexpr const char* kNoAdmin =
      "the broker's ABI is older than 2.2: no CreatePartitions, DeleteRecords or log dir";
  static bool cut_short(const std::string& s) { return std::memchr(s.data(), '\0', s.size()) != nullptr; }
  static constexpr const char* kNoAuthorizer =
      "no authorizer is configured on this broker; add an [authorizer] section (strategy = \"acl\") to its "
      "config (see docs/security.md)";
  static bool cut_short(const std::optional<std::string>& s) { return s && cut_short(*s); }
#if KEEL_TARGET_ABI_MINOR >= 5
  bool ask(const AuthzSubject& subject, const keel_authz_action& a, bool log_denials) const {
    const keel_authz_subject sub = c_subject(subject);
    int32_t result = KEEL_AUTHZ_DENIED;
    api_->authorize(api_->ctx, &sub, &a, 1, sizeof a, log_denials ? 1 : 0, &result);
    return result == KEEL_AUTHZ_ALLOWED;
  }
  static keel_authz_action c_action(const AuthzAction& a) {
    keel_authz_action c{};
    c.struct_size = sizeof c;
    c.resource_type = a.resource_type;
    c.operation = a.operation;
    // A default string_view has no data: NULL would ask about SOME resource
    // (allowed_on_some's much wider question), so an empty name is "".
    c.resource_name = a.name.data() != nullptr ? a.name.data() : "";
    c.resource_name_len = a.name.size();
    return c;
  }
  static keel_acl_binding c_binding(int8_t type, int8_t pattern, int8_t operation, int8_t permission,
                                    const char* name, const char* principal, const char* host) {
    keel_acl_binding c{};
    c.struct_size = sizeof c;
    c.resource_type = type;
    c.pattern_type = pattern;
    c.operation = operation;
    c.permission = permission;
    c.resource_name = name;
    c.principal = principal;
    c.host = host;
    return c;
  }
  static keel_authz_subject c_subject(const AuthzSubject& s) {
    keel_authz_subject c{};
    c.struct_size = sizeof c;
    c.principal = s.principal.c_str();
    c.host = s.host.c_str();
    c.listener = s.listener.c_str();
    return c;
  }
#endif
  keel_status acl_query(const AclFilter& f, std::vector<AclBinding>* out, std::string* message,
                        bool remove) const {
    if (cut_short(f.resource_name) || cut_short(f.principal) || cut_short(f.host))
      return refuse(KEEL_ERR_INVALID_ARGUMENT, "an ACL filter's names may not contain NUL", message);
#if KEEL_TARGET_ABI_MINOR >= 5
    if (!has_authorizer()) return refuse(KEEL_ERR_UNSUPPORTED, kNoAuthorizer, message);
    auto text = [](const std::optional<std::string>& v) { return v ? v->c_str() : nullptr; };
    const keel_acl_binding c = c_binding(f.resource_type, f.pattern_type, f.operation, f.permission,
                                         text(f.resource_name), text(f.principal), text(f.host));
    keel_error err{};
    auto cb = [](void* user, const keel_acl_binding* b) {
      AclBinding x;
      x.resource_type = b->resource_type;
      x.pattern_type = b->pattern_type;
      x.operation = b->operation;
      x.permission = b->permission;
      x.resource_name = b->resource_name != nullptr ? b->resource_name : "";
      x.principal = b->principal != nullptr ? b->principal : "";
      x.host = b->host != nullptr ? b->host : "";
      static_cast<std::vector<AclBinding>*>(user)->push_back(std::move(x));
    };
    std::vector<AclBinding> sink;
    std::vector<AclBinding>* into = out != nullptr ? out : &sink;
    const keel_status s = remove ? api_->delete_acls(api_->ctx, &c, cb, into, &err)
                                 : api_->describe_acls(api_->ctx, &c, cb, into, &err);
    return with_message(s, err, message);
#else
    (void)out;
    (void)remove;
    return refuse(KEEL_ERR_UNSUPPORTED, kNoAuthorizer, message);
#endif
  }
  static TopicInfo info(const keel_topic_info* t) {
    return TopicInfo{t->name, t->partition_count, t->internal != 0};
  }
  static bool duplicate_of(const keel_produce_result* r) {
#if KEEL_TARGET_ABI_MINOR >= 1
    return KEEL_HAS_FIELD(r, keel_produce_result, duplicate) && r->duplicate != 0;
#else
    (void)r;
    return false;
#endif
  }
  static keel_status refuse(keel_status s, const char* why, std::string* message) {
    if (message != nullptr) *message = why;
    return s;
  }
  static keel_status with_message(keel_status s, const keel_error& err, std::string* message) {
    if (s != KEEL_OK && message != nullptr) *message = err.message;
    return s;
  }
  static std::vector<keel_label> c_labels(const Labels& labels) {
    std::vector<keel_label> out;
    out.reserve(labels.size());
    for (const auto& [name, value] : labels) out.push_back(keel_label{name.c_str(), value.c_str()});
    return out;
  }

  const keel_broker_api* api_;
};

}  // namespace keel::sdk
