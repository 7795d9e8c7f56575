// The Kafka transport's pure parts of the cluster view: the error each data
// API (Produce, Fetch, ListOffsets, DeleteRecords) gives a broker status,
// which a single node cannot show end to end (it leads every partition, so
// it never answers NOT_LEADER); the offline replicas of Metadata v5+; and
// the __consumer_offsets partition FindCoordinator picks for a group, which
// must be the one the kernel stores the group in.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/clock.hpp"
#include "groups/group_offsets.hpp"
#include "transport/kafka/cluster_view.hpp"
#include "transport/kafka/partition_error.hpp"

namespace keel::kafka {
namespace {

TEST(KafkaPartitionError, MapsBrokerStatusesForEveryDataApi) {
  const struct {
    keel_status status;
    ErrorCode kafka;
  } table[] = {
      {KEEL_OK, ErrorCode::kNone},
      {KEEL_ERR_NOT_FOUND, ErrorCode::kUnknownTopicOrPartition},
      {KEEL_ERR_OUT_OF_RANGE, ErrorCode::kOffsetOutOfRange},
      {KEEL_ERR_NOT_LEADER, ErrorCode::kNotLeaderOrFollower},
      {KEEL_ERR_UNAVAILABLE, ErrorCode::kNotLeaderOrFollower},
      {KEEL_ERR_IO, ErrorCode::kKafkaStorageError},
      {KEEL_ERR_CORRUPT, ErrorCode::kKafkaStorageError},
      {KEEL_ERR_NO_SPACE, ErrorCode::kKafkaStorageError},
      {KEEL_ERR_INTERNAL, ErrorCode::kUnknownServerError},
      {9999, ErrorCode::kUnknownServerError},  // a status from a newer broker
  };
  for (const auto& row : table) EXPECT_EQ(partition_error(row.status), row.kafka) << "status " << row.status;
}

TEST(KafkaPartitionError, NotLeaderIsKafkasRetriableNotLeaderOrFollower) {
  // Clients refresh metadata on 6 and go to the new leader; a wrong code
  // here strands them on this broker.
  EXPECT_EQ(code(partition_error(KEEL_ERR_NOT_LEADER)), 6);
}

TEST(KafkaClusterView, OfflineReplicasAreThoseNotLive) {
  const std::vector<KafkaBroker> live = {{1, "a", 9092, std::nullopt}, {3, "c", 9092, std::nullopt}};
  EXPECT_EQ(offline_replicas({1, 2, 3, 4}, live), (std::vector<int32_t>{2, 4}));
  EXPECT_EQ(offline_replicas({3, 1}, live), std::vector<int32_t>{});
  EXPECT_EQ(offline_replicas({5}, {}), std::vector<int32_t>{5});
}

TEST(KafkaClusterView, CoordinatorPartitionIsWhereTheKernelStoresTheGroup) {
  ManualClock clock{1'700'000'000'000};
  for (int32_t partitions : {1, 3, 50}) {
    GroupOffsetStore store(
        partitions, [](int32_t, const std::vector<std::string>&, const GroupOffsetStore::Done&) {}, false,
        clock);
    for (const std::string group : {"", "orders", "billing-consumers", "g-1", "g-2", "\xc3\xa9t\xc3\xa9"}) {
      EXPECT_EQ(offsets_partition_for(group, partitions), store.partition_for(group))
          << "group '" << group << "', " << partitions << " partitions";
    }
  }
  EXPECT_EQ(offsets_partition_for("orders", 0), 0);  // no offsets topic yet
}

}  // namespace
}  // namespace keel::kafka
