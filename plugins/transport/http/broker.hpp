// C++ view of the broker API (keel_broker_api) for the HTTP handlers: plain
// values out, keel::sdk::Error (or HttpError 404 with a precise message)
// thrown on failure.
#pragma once

#include <cstdint>
#include <functional>
#include <keel/plugin.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keel::web {

struct TopicInfo {
  std::string name;
  int32_t partitions = 0;
  bool internal = false;
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

// A fetched byte range; released when it goes.
class FetchedRange {
 public:
  FetchedRange(const keel_broker_api* api, const keel_fetch_result& r) : api_(api), r_(r) {}
  FetchedRange(const FetchedRange&) = delete;
  FetchedRange& operator=(const FetchedRange&) = delete;
  ~FetchedRange() { api_->release_fetch(api_->ctx, &r_); }
  const keel_fetch_result& result() const { return r_; }
  // The bytes of the range (pread from the segment file).
  std::string read() const;

 private:
  const keel_broker_api* api_;
  keel_fetch_result r_;
};

class Broker {
 public:
  explicit Broker(const keel_broker_api* api);

  std::vector<TopicInfo> list_topics() const;
  std::optional<TopicInfo> find_topic(const std::string& name) const;
  // The topic, or HttpError 404 "unknown_topic".
  TopicInfo require_topic(const std::string& name) const;
  TopicDetails topic_details(const std::string& name) const;
  void create_topic(const std::string& name, int32_t partitions, const std::string& settings_toml) const;
  void delete_topic(const std::string& name) const;
  bool auto_create_topics() const { return api_->auto_create_topics(api_->ctx) != 0; }
  int32_t choose_partition(const std::string& topic, const std::optional<std::string>& key) const;

  // `done(status, base_offset, message)` runs exactly once, maybe on a
  // broker thread.
  using ProduceDone = std::function<void(keel_status, int64_t, const std::string&)>;
  void produce(const std::string& topic, int32_t partition, const std::string& batch, int32_t acks,
               ProduceDone done) const;

  std::unique_ptr<FetchedRange> fetch(const std::string& topic, int32_t partition, int64_t offset,
                                      int64_t max_bytes) const;
  keel_watermarks watermarks(const std::string& topic, int32_t partition) const;
  // First offset with a timestamp >= ts; nullopt if none.
  std::optional<int64_t> offset_for_time(const std::string& topic, int32_t partition, int64_t ts) const;
  keel_watch* watch(const std::string& topic, int32_t partition, int64_t offset, keel_watch_callback cb,
                    void* user) const;
  void unwatch(keel_watch* w) const { api_->unwatch(api_->ctx, w); }
  keel_partition_health partition_health(const std::string& topic, int32_t partition) const;

  // All in one durable write (ABI 1.3), else one commit_offset each.
  void commit_offsets(const std::string& group, const std::vector<GroupOffset>& offsets) const;
  void commit_offset(const std::string& group, const std::string& topic, int32_t partition, int64_t offset,
                     const std::string& metadata) const;
  // offset -1 when nothing was committed.
  GroupOffset fetch_offset(const std::string& group, const std::string& topic, int32_t partition) const;
  // Empty when the group has committed nothing.
  std::vector<GroupOffset> group_offsets(const std::string& group) const;
  std::vector<std::string> list_groups() const;

  void counter_add(const char* name, const std::string& labels, double delta) const {
    api_->counter_add(api_->ctx, name, labels.c_str(), delta);
  }
  void gauge_set(const char* name, const std::string& labels, double value) const {
    api_->gauge_set(api_->ctx, name, labels.c_str(), value);
  }
  void histogram_observe(const char* name, const std::string& labels, double value) const {
    api_->histogram_observe(api_->ctx, name, labels.c_str(), value);
  }
  std::string render_metrics() const;
  bool ready() const { return api_->ready(api_->ctx) != 0; }
  // The C table, for the shared transport code (listener, request memory).
  const keel_broker_api* raw() const { return api_; }

 private:
  // Throws the most precise error for a status from a call that gives no
  // message: names the unknown topic or the missing partition.
  [[noreturn]] void fail_partition(keel_status s, const std::string& topic, int32_t partition,
                                   const char* what) const;
  void require_1_1(const char* what) const;

  const keel_broker_api* api_;
};

}  // namespace keel::web
