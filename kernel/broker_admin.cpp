// The broker's admin operations on existing topics: growing a topic
// (CreatePartitions) and moving a partition's log start (DeleteRecords).
#include <spdlog/spdlog.h>

#include "broker.hpp"
#include "common/error.hpp"

namespace keel {
namespace {
// The same bound as topic creation.
constexpr int32_t kMaxPartitions = 10000;
}  // namespace

void Broker::create_partitions(const std::string& name, int32_t total, bool validate_only) {
  if (!ready_) fail(KEEL_ERR_UNAVAILABLE, "broker is not ready");
  if (!cluster_) {
    grow_topic(name, total, validate_only);
    return;
  }
  // In a cluster the store's assignment grows first; every broker (this
  // one too) then creates the new logs from it, and the controller gives
  // them leaders. The local checks come first: nothing is written for a
  // request this broker would refuse.
  grow_topic(name, total, true);
  if (validate_only) return;
  cluster_->grow_topic(name, total, 10000);
}

void Broker::grow_topic(const std::string& name, int32_t total, bool validate_only) {
  // Creation and deletion of topics are serialised with this: the topic
  // cannot go away while its partitions are added.
  std::lock_guard lock(create_mu_);
  auto topic = find_topic(name);
  if (!topic) fail(KEEL_ERR_NOT_FOUND, "unknown topic '" + name + "'");
  if (is_internal(name)) {
    fail(KEEL_ERR_INVALID_NAME, "topic '" + name + "' is internal to the broker: its partitions are fixed");
  }
  const int32_t now = topic->partition_count();
  if (total <= now) {
    fail(KEEL_ERR_INVALID_ARGUMENT, "topic '" + name + "' has " + std::to_string(now) +
                                        " partitions; the new count " + std::to_string(total) +
                                        " must be larger (partitions are never removed)");
  }
  if (total > kMaxPartitions) {
    fail(KEEL_ERR_INVALID_ARGUMENT, "topic '" + name + "': at most " + std::to_string(kMaxPartitions) +
                                        " partitions per topic, not " + std::to_string(total));
  }
  if (validate_only) return;
  topic->add_partitions(total);
  spdlog::info("topic '{}' grew from {} to {} partitions", name, now, topic->partition_count());
}

int64_t Broker::delete_records(const std::string& topic, int32_t p, int64_t offset) {
  if (!ready_) fail(KEEL_ERR_UNAVAILABLE, "broker is not ready");
  if (is_internal(topic)) {
    fail(KEEL_ERR_INVALID_NAME, "topic '" + topic + "' is internal to the broker: its records stay");
  }
  return partition(topic, p)->delete_records(offset);
}

}  // namespace keel
