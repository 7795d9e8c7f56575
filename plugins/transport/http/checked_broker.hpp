// The broker as the HTTP handlers use it: keel::sdk::Broker (the SDK's C++
// view of the broker API) with every failing status turned into the HTTP
// answer it deserves: HttpError 404 with a precise message for an unknown
// topic or partition, keel::sdk::Error otherwise (mapped by from_status).
#pragma once

#include <cstdint>
#include <functional>
#include <keel/broker.hpp>
#include <keel/plugin.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "errors.hpp"

namespace keel::web {

using sdk::FetchedRange;
using sdk::GroupOffset;
using sdk::TopicDetails;
using sdk::TopicInfo;

// The bytes of a fetched range (pread from the segment file).
std::string read_range(const FetchedRange& range);

class CheckedBroker {
 public:
  explicit CheckedBroker(const keel_broker_api* api) : b_(api) {}

  std::vector<TopicInfo> list_topics() const { return b_.list_topics(); }
  std::optional<TopicInfo> find_topic(const std::string& name) const { return b_.describe_topic(name); }
  // The topic, or HttpError 404 "unknown_topic".
  TopicInfo require_topic(const std::string& name) const;
  TopicDetails topic_details(const std::string& name) const;
  void create_topic(const std::string& name, int32_t partitions, const std::string& settings_toml) const;
  void delete_topic(const std::string& name) const;
  // Grows the topic (404 unknown, 400 when not larger).
  void create_partitions(const std::string& name, int32_t count, bool validate_only) const;
  // Moves the log start (-1 = high watermark); returns it.
  int64_t delete_records(const std::string& topic, int32_t partition, int64_t before_offset) const;
  // The settings in effect (topic_settings); nullptr: the topic defaults.
  std::vector<sdk::TopicSetting> topic_settings(const std::string* name) const;
  bool auto_create_topics() const { return b_.auto_create_topics(); }
  int32_t choose_partition(const std::string& topic, const std::optional<std::string>& key) const;

  // `done` runs exactly once, maybe on a broker thread.
  using ProduceDone = std::function<void(const sdk::ProduceResult&)>;
  void produce(const std::string& topic, int32_t partition, const std::string& batch, int32_t acks,
               ProduceDone done) const;

  // A new idempotent producer identity (id, epoch 0) from the kernel.
  std::pair<int64_t, int32_t> init_producer_id() const;

  std::unique_ptr<FetchedRange> fetch(const std::string& topic, int32_t partition, int64_t offset,
                                      int64_t max_bytes) const;
  keel_watermarks watermarks(const std::string& topic, int32_t partition) const;
  // First offset with a timestamp >= ts; nullopt if none.
  std::optional<int64_t> offset_for_time(const std::string& topic, int32_t partition, int64_t ts) const;
  keel_watch* watch(const std::string& topic, int32_t partition, int64_t offset, keel_watch_callback cb,
                    void* user) const;
  void unwatch(keel_watch* w) const { b_.unwatch(w); }
  keel_partition_health partition_health(const std::string& topic, int32_t partition) const;

  // A commit from outside any group protocol (no member, no generation):
  // the kernel refuses it (FENCED / UNKNOWN_MEMBER, HTTP 409) while the
  // group has live members. `done(status, message)` runs exactly once,
  // maybe on a broker thread.
  void commit_offsets(const std::string& group, const std::vector<GroupOffset>& offsets,
                      sdk::Broker::CommitDone done) const;
  // offset -1 when nothing was committed.
  GroupOffset fetch_offset(const std::string& group, const std::string& topic, int32_t partition) const;
  // Empty when the group has committed nothing.
  std::vector<GroupOffset> group_offsets(const std::string& group) const;
  std::vector<std::string> list_groups() const { return b_.list_groups(); }
  // Removes the group's offsets and stored metadata: 404 (unknown_group)
  // if it has neither, 409 (group_has_members) while a group protocol has
  // members in it (a joined Kafka consumer group).
  void delete_group(const std::string& group) const;

  void counter_add(const char* name, const sdk::Labels& labels, double delta) const {
    b_.counter_add(name, labels, delta);
  }
  void histogram_observe(const char* name, const sdk::Labels& labels, double value) const {
    b_.histogram_observe(name, labels, value);
  }
  std::string render_metrics() const { return b_.render_metrics(); }
  bool ready() const { return b_.ready(); }

  // ---- the cluster view (leadership.cpp)
  const sdk::Broker& sdk() const { return b_; }
  // Before a produce or consume: HttpError 421 (not_leader) naming the
  // leader when this broker does not lead the partition, 503
  // (leader_not_available) while it has none. Nothing from a broker
  // without a cluster view, or for a partition the view does not know (the
  // call that follows answers 404 for it).
  void require_leader(const std::string& topic, int32_t partition) const;
  // The 421 for a partition led elsewhere: the leader's id and, when it
  // serves HTTP, its URL, to which the request is redirected.
  HttpError not_leader(const std::string& topic, int32_t partition) const;
  // The C table, for the shared transport code (listener, request memory).
  const keel_broker_api* raw() const { return b_.raw(); }

 private:
  // Throws the most precise error for a status from a call that gives no
  // message: names the unknown topic or the missing partition.
  [[noreturn]] void fail_partition(keel_status s, const std::string& topic, int32_t partition,
                                   const std::string& what) const;

  sdk::Broker b_;
};

}  // namespace keel::web
