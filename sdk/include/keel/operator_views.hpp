// Plain values of the broker API's operators' views (ABI 2.6): what a
// console or an admin endpoint shows of loaded plugins, a partition's
// segments and a consumer group. keel::sdk::Broker fills them; a transport
// that runs a group protocol also publishes a GroupView with
// Broker::publish_group().
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace keel::sdk {

struct LoadedStrategy {
  std::string kind;     // "index", "retention", "partitioner", ...
  std::string name;     // as configs name it
  std::string plugin;   // the library's descriptor name
  std::string version;  // the library's descriptor version
  std::string path;     // the file it was loaded from
  int abi_major = 0;    // the ABI the library was built for
  int abi_minor = 0;
};

struct SegmentView {
  int64_t base_offset = 0;
  int64_t next_offset = 0;  // one past the last offset held
  int64_t size_bytes = 0;
  int64_t max_timestamp = -1;  // newest record timestamp, -1 if unknown
  int64_t last_modified_ms = 0;
  bool active = false;  // the segment appends go to (the last one)
};

struct GroupMemberView {
  std::string member_id;
  std::string instance_id;  // "" for a dynamic member
  std::string client_id;
  std::string client_host;
  std::vector<std::pair<std::string, int32_t>> assignment;  // (topic, partition)
};

struct GroupView {
  std::string group;
  std::string state;  // Kafka's names: "Stable", "Empty", ...
  std::string protocol_type;
  std::string protocol;
  std::string leader_id;
  int32_t generation = -1;
  std::vector<GroupMemberView> members;
};

}  // namespace keel::sdk
