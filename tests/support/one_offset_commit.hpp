// A keel_group_commit of one offset, made outside a group protocol
// (generation -1, no member id), for tests and benchmarks that call the
// broker API's commit_offsets directly. Pinned: `commit` points at `offset`.
#pragma once

#include <keel/plugin.h>

#include <cstdint>

namespace keel::test {

struct OneOffsetCommit {
  keel_offset_commit offset{};
  keel_group_commit commit{};

  OneOffsetCommit(const char* group, const char* topic, int32_t partition, int64_t value) {
    offset.struct_size = sizeof offset;
    offset.topic = topic;
    offset.partition = partition;
    offset.offset = value;
    offset.metadata = "";
    commit.struct_size = sizeof commit;
    commit.generation = KEEL_GENERATION_NONE;
    commit.group = group;
    commit.member_id = "";
    commit.offsets = &offset;
    commit.offset_count = 1;
    commit.offset_size = sizeof offset;
  }
  OneOffsetCommit(const OneOffsetCommit&) = delete;
  OneOffsetCommit& operator=(const OneOffsetCommit&) = delete;
};

}  // namespace keel::test
