// What the broker API of ABI 2.x promises transports and plugins, tested on
// a real broker: fenced group commits, out-structs written up to the
// caller's struct_size, unwatch from inside a watch callback, plugins with a
// NULL mandatory slot refused while the broker stays usable, and a failing
// plugin's own message reaching the log (rate-limited).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <keel/plugin.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <keel/record_batch.hpp>
#include <memory>
#include <mutex>
#include <string>

#include "broker.hpp"
#include "common/clock.hpp"
#include "config/config.hpp"
#include "support/group_commit.hpp"
#include "support/log_capture.hpp"
#include "support/temp_dir.hpp"

namespace {

using keel::test::commit_offsets;
using keel::test::offset_commit;
using ::testing::HasSubstr;

constexpr auto kContractDeadline = std::chrono::seconds(30);

class BrokerApiContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string text = "[broker]\ndata_dir = \"" + dir_.sub("data") +
                             "\"\n"
                             "plugin_path = [\"" KEEL_TEST_PLUGIN_DIR "\", \"" KEEL_TEST_BAD_PLUGIN_DIR
                             "\"]\n"
                             "auto_create_topics = false\n"
                             "[topics.orders]\npartitions = 2\n"
                             "[topics.stuck]\npartitions = 2\npartitioner = \"test-failing\"\n";
    broker_ = std::make_unique<keel::Broker>(keel::parse_config(text, "test.toml"), &clock_);
    broker_->start();
    api_ = broker_->api();
  }

  keel_status produce_one(const std::string& topic, int32_t partition) {
    keel::batch::Builder b(0);
    b.add(std::string("k"), std::string("v"), clock_.now_ms());
    const std::string data = b.build();
    keel_status status = KEEL_ERR_INTERNAL;
    api_->produce(
        api_->ctx, topic.c_str(), partition, reinterpret_cast<const uint8_t*>(data.data()), data.size(),
        KEEL_ACKS_LEADER,
        [](void* user, const keel_produce_result* r) { *static_cast<keel_status*>(user) = r->status; },
        &status);
    return status;  // acks=1 answers before produce returns
  }

  keel_status set_members(const std::string& group, int32_t generation, std::vector<const char*> ids) {
    keel_group_members m{};
    m.struct_size = sizeof m;
    m.generation = generation;
    m.group = group.c_str();
    m.member_ids = ids.empty() ? nullptr : ids.data();
    m.member_count = ids.size();
    keel_error err{};
    const keel_status s = api_->set_group_members(api_->ctx, &m, &err);
    EXPECT_EQ(s, KEEL_OK) << err.message;
    return s;
  }

  int64_t committed(const std::string& group, int32_t partition) {
    int64_t offset = -2;
    EXPECT_EQ(api_->fetch_offset(api_->ctx, group.c_str(), "orders", partition, &offset, nullptr, nullptr),
              KEEL_OK);
    return offset;
  }

  keel::test::TempDir dir_{"keel-api-contract"};
  keel::ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<keel::Broker> broker_;
  const keel_broker_api* api_ = nullptr;
};

TEST_F(BrokerApiContractTest, GroupCommitsAreFencedByTheGroupsMembersAndGeneration) {
  // No members: commits from outside any protocol are taken.
  auto c = commit_offsets(api_, "g", {offset_commit("orders", 0, 5)});
  ASSERT_EQ(c.status, KEEL_OK) << c.message;
  EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(committed("g", 0), 5);

  ASSERT_EQ(set_members("g", 3, {"m-1", "m-2"}), KEEL_OK);
  c = commit_offsets(api_, "g", {offset_commit("orders", 0, 9)});  // an HTTP-style commit
  EXPECT_EQ(c.status, KEEL_ERR_UNKNOWN_MEMBER);
  EXPECT_THAT(c.message, HasSubstr("group 'g' has 2 live member(s) in generation 3"));
  c = commit_offsets(api_, "g", {offset_commit("orders", 0, 9)}, "m-1", 2);  // a zombie
  EXPECT_EQ(c.status, KEEL_ERR_FENCED);
  EXPECT_THAT(c.message, HasSubstr("generation 2"));
  c = commit_offsets(api_, "g", {offset_commit("orders", 0, 9)}, "m-9", 3);
  EXPECT_EQ(c.status, KEEL_ERR_UNKNOWN_MEMBER);
  EXPECT_EQ(committed("g", 0), 5) << "a refused commit stored nothing";

  c = commit_offsets(api_, "g", {offset_commit("orders", 0, 12), offset_commit("orders", 1, 4)}, "m-2", 3);
  ASSERT_EQ(c.status, KEEL_OK) << c.message;
  EXPECT_EQ(committed("g", 0), 12);
  EXPECT_EQ(committed("g", 1), 4);

  // The group empties: outside commits are taken again.
  ASSERT_EQ(set_members("g", KEEL_GENERATION_NONE, {}), KEEL_OK);
  c = commit_offsets(api_, "g", {offset_commit("orders", 0, 20)});
  ASSERT_EQ(c.status, KEEL_OK) << c.message;
  EXPECT_EQ(committed("g", 0), 20);
}

TEST_F(BrokerApiContractTest, CommitOffsetsStepByTheCallersElementSize) {
  // A transport of a later minor: each offset is 16 bytes larger.
  struct Bigger {
    keel_offset_commit c;
    unsigned char later_fields[16];
  };
  Bigger offsets[2];
  std::memset(offsets, 0xEE, sizeof offsets);
  offsets[0].c = offset_commit("orders", 0, 31);
  offsets[1].c = offset_commit("orders", 1, 32);
  for (auto& o : offsets) o.c.struct_size = sizeof(Bigger);
  keel_group_commit commit{};
  commit.struct_size = sizeof commit;
  commit.generation = KEEL_GENERATION_NONE;
  commit.group = "wide";
  commit.offsets = &offsets[0].c;
  commit.offset_count = 2;
  commit.offset_size = sizeof(Bigger);
  // The callback runs later, on the flusher thread, once the commit is synced.
  std::promise<keel_status> done;
  auto status = done.get_future();
  api_->commit_offsets(
      api_->ctx, &commit,
      [](void* user, keel_status s, const char*) {
        static_cast<std::promise<keel_status>*>(user)->set_value(s);
      },
      &done);
  ASSERT_EQ(status.wait_for(std::chrono::seconds(30)), std::future_status::ready)
      << "the commit never completed";
  ASSERT_EQ(status.get(), KEEL_OK);
  EXPECT_EQ(committed("wide", 0), 31);
  EXPECT_EQ(committed("wide", 1), 32);
}

TEST_F(BrokerApiContractTest, OutStructsAreWrittenUpToTheCallersSizeOnly) {
  ASSERT_EQ(produce_one("orders", 0), KEEL_OK);
  // An older transport's keel_watermarks that ends before log_end_offset,
  // followed by memory that is not the broker's to write.
  struct {
    keel_watermarks w;
    int64_t after;
  } small;
  std::memset(&small, 0x77, sizeof small);
  const uint32_t size = offsetof(keel_watermarks, log_end_offset);
  small.w.struct_size = size;
  ASSERT_EQ(api_->watermarks(api_->ctx, "orders", 0, &small.w), KEEL_OK);
  EXPECT_EQ(small.w.struct_size, size) << "the caller's struct_size was overwritten";
  EXPECT_EQ(small.w.high_watermark, 1);
  int64_t untouched = 0;
  std::memset(&untouched, 0x77, sizeof untouched);
  EXPECT_EQ(small.w.log_end_offset, untouched) << "written beyond the caller's struct_size";
  EXPECT_EQ(small.after, untouched);

  // A fetch result too small to carry the pin is refused rather than leaked.
  keel_fetch_result r{};
  r.struct_size = offsetof(keel_fetch_result, pin);
  keel_error err{};
  EXPECT_EQ(api_->fetch(api_->ctx, "orders", 0, 0, 1 << 20, &r, &err), KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(err.message, HasSubstr("keel_fetch_result"));
}

// Rule 6: a watch callback may unwatch its own watch (it used to deadlock).
TEST_F(BrokerApiContractTest, UnwatchFromInsideItsOwnCallbackReturns) {
  struct State {
    const keel_broker_api* api = nullptr;
    keel_watch* watch = nullptr;
    std::mutex mu;
    std::condition_variable cv;
    bool fired = false;
  } st;
  st.api = api_;
  {
    std::lock_guard lock(st.mu);  // the callback may run before watch() returns
    ASSERT_EQ(api_->watch(
                  api_->ctx, "orders", 1, 0,
                  [](void* user) {
                    auto* s = static_cast<State*>(user);
                    std::lock_guard l(s->mu);
                    s->api->unwatch(s->api->ctx, s->watch);
                    s->fired = true;
                    s->cv.notify_all();
                  },
                  &st, &st.watch),
              KEEL_OK);
  }
  ASSERT_EQ(produce_one("orders", 1), KEEL_OK);  // fires the watch on this thread
  std::unique_lock lock(st.mu);
  EXPECT_TRUE(st.cv.wait_for(lock, kContractDeadline, [&] { return st.fired; }));
}

TEST_F(BrokerApiContractTest, UnwatchFromAnotherThreadStillWaitsAndFrees) {
  keel_watch* w = nullptr;
  int fired = 0;
  ASSERT_EQ(api_->watch(
                api_->ctx, "orders", 0, 100, [](void* user) { ++*static_cast<int*>(user); }, &fired, &w),
            KEEL_OK);
  api_->unwatch(api_->ctx, w);
  ASSERT_EQ(produce_one("orders", 0), KEEL_OK);
  EXPECT_EQ(fired, 0);
}

TEST_F(BrokerApiContractTest, ATopicNamingAPluginWithANullSlotIsRefusedAndTheBrokerStaysUsable) {
  keel_create_topic_args args{};
  args.struct_size = sizeof args;
  args.partitions = 1;
  args.name = "broken";
  args.settings_toml = "partitioner = \"test-null-slot\"\n";
  keel_error err{};
  EXPECT_NE(api_->create_topic(api_->ctx, &args, &err), KEEL_OK);
  EXPECT_THAT(err.message, HasSubstr("partitioner 'test-null-slot' of plugin 'test-null-slot-plugin'"));
  EXPECT_THAT(err.message, HasSubstr("vtable slot 'partition' is NULL; it is mandatory"));
  EXPECT_EQ(broker_->find_topic("broken"), nullptr);
  EXPECT_EQ(produce_one("orders", 0), KEEL_OK);
  int32_t p = -1;
  EXPECT_EQ(api_->choose_partition(api_->ctx, "orders", nullptr, 0, &p, &err), KEEL_OK) << err.message;
}

TEST_F(BrokerApiContractTest, AFailingPartitionersMessageReachesTheLogRateLimited) {
  keel::test::LogCapture log;
  const std::string text = "test-failing: the partition map is not loaded yet";
  for (int i = 0; i < 5; ++i) {
    int32_t p = -1;
    keel_error err{};
    EXPECT_EQ(api_->choose_partition(api_->ctx, "stuck", nullptr, 0, &p, &err), KEEL_ERR_INTERNAL);
    EXPECT_THAT(err.message, HasSubstr(text));  // the caller gets the plugin's words too
  }
  EXPECT_EQ(log.count(text), 1) << "one line per strategy per 10 s";
  EXPECT_EQ(log.count("partitioner 'test-failing' of plugin 'test-failing-plugin'"), 1);
  EXPECT_EQ(log.count("topic 'stuck'"), 1);
}

}  // namespace
