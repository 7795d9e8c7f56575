// Group commits through the C broker API for tests: builds a
// keel_group_commit and waits for its callback (which the broker may run on
// another thread), returning the outcome.
#pragma once

#include <gtest/gtest.h>
#include <keel/plugin.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

namespace keel::test {

struct CommitOutcome {
  keel_status status = KEEL_ERR_INTERNAL;
  std::string message;
  int calls = 0;
};

inline keel_offset_commit offset_commit(const char* topic, int32_t partition, int64_t offset,
                                        const char* metadata = "") {
  keel_offset_commit c{};
  c.struct_size = sizeof c;
  c.partition = partition;
  c.topic = topic;
  c.offset = offset;
  c.metadata = metadata;
  return c;
}

inline CommitOutcome commit_offsets(const keel_broker_api* api, const std::string& group,
                                    const std::vector<keel_offset_commit>& offsets,
                                    const std::string& member_id = "",
                                    int32_t generation = KEEL_GENERATION_NONE) {
  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    CommitOutcome out;
  } wait;
  keel_group_commit c{};
  c.struct_size = sizeof c;
  c.generation = generation;
  c.group = group.c_str();
  c.member_id = member_id.c_str();
  c.offsets = offsets.data();
  c.offset_count = offsets.size();
  c.offset_size = sizeof(keel_offset_commit);
  api->commit_offsets(
      api->ctx, &c,
      [](void* user, keel_status s, const char* message) {
        auto* w = static_cast<Wait*>(user);
        std::lock_guard lock(w->mu);
        w->out.status = s;
        w->out.message = message != nullptr ? message : "";
        ++w->out.calls;
        w->cv.notify_all();
      },
      &wait);
  std::unique_lock lock(wait.mu);
  EXPECT_TRUE(wait.cv.wait_for(lock, std::chrono::seconds(30), [&] { return wait.out.calls > 0; }))
      << "the commit of group '" << group << "' never completed";
  return wait.out;
}

}  // namespace keel::test
