// C++ view of the broker API (keel_broker_api) for the Kafka handlers:
// plain functions over the C table, statuses instead of exceptions.
#pragma once

#include <keel/plugin.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace keel::kafka {

struct TopicInfo {
  std::string name;
  int32_t partitions = 0;
  bool internal = false;
};

class BrokerClient {
 public:
  explicit BrokerClient(const keel_broker_api* api) : api_(api) {}
  const keel_broker_api* raw() const { return api_; }

  std::vector<TopicInfo> list_topics() const;
  std::optional<TopicInfo> describe_topic(const std::string& name) const;
  keel_status create_topic(const std::string& name, int32_t partitions, std::string* message) const;
  keel_status delete_topic(const std::string& name, std::string* message) const;
  bool auto_create_topics() const { return api_->auto_create_topics(api_->ctx) != 0; }
  keel_status watermarks(const std::string& topic, int32_t partition, keel_watermarks* out) const;
  keel_status offset_for_time(const std::string& topic, int32_t partition, int64_t ts, int64_t* offset,
                              int64_t* found_ts) const;

  // Calls `done` exactly once, maybe on another thread.
  using ProduceDone = std::function<void(const keel_produce_result&)>;
  void produce(const std::string& topic, int32_t partition, const uint8_t* data, size_t len, int32_t acks,
               ProduceDone done) const;

  keel_status commit_offset(const std::string& group, const std::string& topic, int32_t partition,
                            int64_t offset, const std::string& metadata, std::string* message) const;
  // All in one durable write (ABI 1.3; one commit_offset per entry from an
  // older broker).
  keel_status commit_offsets(const std::string& group, const std::vector<keel_offset_commit>& offsets,
                             std::string* message) const;
  // Transport-defined group description kept across restarts (ABI 1.3;
  // UNSUPPORTED from an older broker).
  keel_status store_group_metadata(const std::string& group, const std::string& metadata,
                                   std::string* message) const;
  std::optional<std::string> group_metadata(const std::string& group) const;
  // offset -1 when nothing was committed.
  keel_status fetch_offset(const std::string& group, const std::string& topic, int32_t partition,
                           int64_t* offset, std::string* metadata) const;
  std::vector<std::string> list_committed_groups() const;

 private:
  const keel_broker_api* api_;
};

}  // namespace keel::kafka
