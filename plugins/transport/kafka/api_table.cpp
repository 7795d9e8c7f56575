#include "api_table.hpp"

#include "handlers/handlers.hpp"

namespace keel::kafka {

// Version ranges follow what real clients need (docs/protocol.md): raising a
// minimum silently disables librdkafka features, and kafka-python guesses
// the broker's version from these ranges.
const std::vector<ApiSpec>& api_table() {
  static const std::vector<ApiSpec> table = {
      {0, "Produce", 0, 9, 9, handle_produce},
      {1, "Fetch", 4, 12, 12, handle_fetch},
      {2, "ListOffsets", 1, 6, 6, handle_list_offsets},
      {3, "Metadata", 0, 12, 9, handle_metadata},
      {8, "OffsetCommit", 0, 8, 8, handle_offset_commit},
      {9, "OffsetFetch", 0, 8, 6, handle_offset_fetch},
      {10, "FindCoordinator", 0, 4, 3, handle_find_coordinator},
      {11, "JoinGroup", 0, 2, 6, handle_join_group},
      {12, "Heartbeat", 0, 1, 4, handle_heartbeat},
      {13, "LeaveGroup", 0, 1, 4, handle_leave_group},
      {14, "SyncGroup", 0, 1, 4, handle_sync_group},
      {15, "DescribeGroups", 0, 2, 5, handle_describe_groups},
      {16, "ListGroups", 0, 2, 3, handle_list_groups},
      {kSaslHandshakeKey, "SaslHandshake", 0, 1, 2, handle_sasl_handshake},
      {kApiVersionsKey, "ApiVersions", 0, 3, 3, handle_api_versions},
      {19, "CreateTopics", 0, 7, 5, handle_create_topics},
      {20, "DeleteTopics", 0, 1, 4, handle_delete_topics},
      {21, "DeleteRecords", 0, 2, 2, handle_delete_records},
      {22, "InitProducerId", 0, 4, 2, handle_init_producer_id},
      {23, "OffsetForLeaderEpoch", 0, 4, 4, handle_offset_for_leader_epoch},
      {29, "DescribeAcls", 0, 3, 2, handle_describe_acls},
      {30, "CreateAcls", 0, 3, 2, handle_create_acls},
      {31, "DeleteAcls", 0, 3, 2, handle_delete_acls},
      {32, "DescribeConfigs", 0, 4, 4, handle_describe_configs},
      {33, "AlterConfigs", 0, 2, 2, handle_alter_configs},
      {35, "DescribeLogDirs", 0, 4, 2, handle_describe_log_dirs},
      {kSaslAuthenticateKey, "SaslAuthenticate", 0, 2, 2, handle_sasl_authenticate},
      {37, "CreatePartitions", 0, 3, 2, handle_create_partitions},
      {42, "DeleteGroups", 0, 2, 2, handle_delete_groups},
      {44, "IncrementalAlterConfigs", 0, 1, 1, handle_incremental_alter_configs},
      {47, "OffsetDelete", 0, 0, 1, handle_offset_delete},
      {50, "DescribeUserScramCredentials", 0, 0, 0, handle_describe_user_scram_credentials},
      {51, "AlterUserScramCredentials", 0, 0, 0, handle_alter_user_scram_credentials},
      {60, "DescribeCluster", 0, 1, 0, handle_describe_cluster},
  };
  return table;
}

const ApiSpec* find_api(int16_t key) {
  for (const auto& spec : api_table()) {
    if (spec.key == key) return &spec;
  }
  return nullptr;
}

}  // namespace keel::kafka
