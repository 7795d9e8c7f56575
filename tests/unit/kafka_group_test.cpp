// The Kafka transport's consumer-group state machine on a clock the test
// advances by hand: session expiry, the rebalance timeout, the initial
// rebalance delay and generations, each against what Kafka documents. No
// sockets and no waiting: time moves only when a test says so, and the group
// acts on its deadlines when the test calls tick(), as its timer would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "kafka/group.hpp"
#include "kafka/group_clock.hpp"
#include "plugins/host_services.hpp"

namespace {

using namespace std::chrono_literals;
using keel::kafka::ErrorCode;
using keel::kafka::Group;
using keel::kafka::GroupClock;
using keel::kafka::GroupSnapshot;
using keel::kafka::JoinArgs;
using keel::kafka::JoinResult;
using keel::kafka::MemberAssignment;
using keel::kafka::SyncResult;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;
using ms = std::chrono::milliseconds;

class ManualGroupClock final : public GroupClock {
 public:
  time_point now() const override { return time_point(duration(ns_.load())); }
  void advance(ms d) { ns_ += std::chrono::nanoseconds(d).count(); }

 private:
  std::atomic<int64_t> ns_{5'000'000'000};  // any start: only differences count
};

// The answer to a request the group may hold back (JoinGroup, SyncGroup).
template <class R>
struct Answer {
  std::shared_ptr<std::optional<R>> slot = std::make_shared<std::optional<R>>();
  bool ready() const { return slot->has_value(); }
  const R& operator*() const { return slot->value(); }
  const R* operator->() const { return &slot->value(); }
};

std::vector<std::string> member_ids_in(const JoinResult& r) {
  std::vector<std::string> ids;
  for (const auto& m : r.members) ids.push_back(m.member_id);
  return ids;
}

class KafkaGroupTest : public ::testing::Test {
 protected:
  std::shared_ptr<Group> make_group(ms initial_rebalance_delay = 0ms) {
    return std::make_shared<Group>("g", io_.get_executor(), initial_rebalance_delay, host_, clock_);
  }

  // A JoinGroup; `member` is "" for a member joining for the first time.
  Answer<JoinResult> join(Group& g, const std::string& member, const std::string& client, ms session,
                          ms rebalance, const std::string& metadata = "v1") {
    JoinArgs args;
    args.member_id = member;
    args.client_id = client;
    args.client_host = "/127.0.0.1";
    args.session_timeout = session;
    args.rebalance_timeout = rebalance;
    args.protocol_type = "consumer";
    args.protocols = {{"range", metadata}};
    Answer<JoinResult> a;
    g.join(std::move(args), [slot = a.slot](const JoinResult& r) { *slot = r; });
    return a;
  }

  Answer<SyncResult> sync(Group& g, int32_t generation, const std::string& member,
                          const std::vector<MemberAssignment>& assignments = {}) {
    Answer<SyncResult> a;
    g.sync(generation, member, assignments, [slot = a.slot](const SyncResult& r) { *slot = r; });
    return a;
  }

  static std::vector<std::string> members(const Group& g) {
    std::vector<std::string> ids;
    for (const auto& m : g.describe().members) ids.push_back(m.member_id);
    return ids;
  }
  static std::string state(const Group& g) { return g.describe().state; }

  void advance(Group& g, ms d) {
    clock_.advance(d);
    g.tick();
  }

  struct Pair {
    std::string a, b;
  };
  // Members a (the leader) and b in a Stable generation 2, formed as real
  // consumers form it: a alone (generation 1), b joins, a learns of the
  // rebalance from its heartbeat and rejoins, then SyncGroup.
  Pair stable_pair(Group& g, ms session, ms rebalance) {
    auto ja = join(g, "", "client-a", session, rebalance);
    EXPECT_TRUE(ja.ready());
    const std::string a = ja->member_id;
    EXPECT_EQ(ja->generation, 1);
    auto jb = join(g, "", "client-b", session, rebalance);
    EXPECT_FALSE(jb.ready()) << "b's answer waits until a has rejoined";
    EXPECT_EQ(g.heartbeat(1, a), ErrorCode::kRebalanceInProgress);
    auto ja2 = join(g, a, "client-a", session, rebalance);
    EXPECT_TRUE(ja2.ready() && jb.ready());
    const std::string b = jb->member_id;
    EXPECT_EQ(ja2->generation, 2);
    EXPECT_EQ(jb->generation, 2);
    auto sb = sync(g, 2, b);
    EXPECT_FALSE(sb.ready()) << "a follower waits for the leader's assignment";
    auto sa = sync(g, 2, a, {{a, "for-a"}, {b, "for-b"}});
    EXPECT_TRUE(sa.ready() && sb.ready());
    EXPECT_EQ(sb->assignment, "for-b");
    EXPECT_EQ(state(g), "Stable");
    return {a, b};
  }

  keel::SystemClock wall_;  // the host table wants one; groups never read it
  keel::HostServices host_services_{"kafka", &wall_};
  keel::sdk::Host host_{host_services_.table()};
  ManualGroupClock clock_;
  // Never run, except in the test of the real timer: declared before the
  // groups (test locals), so it outlives their timers.
  boost::asio::io_context io_;
};

// Kafka, consumer config session.timeout.ms: "If no heartbeats are received
// by the broker before the expiration of this session timeout, then the
// broker will remove this client from the group and initiate a rebalance."
TEST_F(KafkaGroupTest, SilentMemberIsRemovedWhenItsSessionTimesOutAndTheRestRebalance) {
  auto g = make_group();
  const auto [a, b] = stable_pair(*g, 10s, 30s);
  // b heartbeats every 3 s; a goes silent after its SyncGroup.
  for (int i = 0; i < 3; ++i) {
    advance(*g, 3s);
    EXPECT_EQ(g->heartbeat(2, b), ErrorCode::kNone);
  }
  advance(*g, 999ms);  // 9.999 s since a's last request
  EXPECT_THAT(members(*g), UnorderedElementsAre(a, b));
  EXPECT_EQ(state(*g), "Stable");

  advance(*g, 1ms);  // 10 s: a's session is over
  EXPECT_THAT(members(*g), ElementsAre(b));
  EXPECT_EQ(state(*g), "PreparingRebalance");
  EXPECT_EQ(g->heartbeat(2, b), ErrorCode::kRebalanceInProgress);
  auto jb = join(*g, b, "client-b", 10s, 30s);
  ASSERT_TRUE(jb.ready());
  EXPECT_EQ(jb->error, ErrorCode::kNone);
  EXPECT_EQ(jb->generation, 3);
  EXPECT_EQ(jb->leader, b);
  EXPECT_THAT(member_ids_in(*jb), ElementsAre(b));
  EXPECT_EQ(g->heartbeat(2, a), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(g->heartbeat(3, a), ErrorCode::kUnknownMemberId);
}

// Kafka's JoinGroup: the coordinator waits for every known member to rejoin
// (members learn of the rebalance from REBALANCE_IN_PROGRESS on their
// heartbeat), and answers as soon as the last one has; no timer involved.
TEST_F(KafkaGroupTest, RebalanceCompletesAsSoonAsEveryMemberHasRejoined) {
  auto g = make_group();
  const auto [a, b] = stable_pair(*g, 10s, 30s);
  auto jb = join(*g, b, "client-b", 10s, 30s, "v2");  // new metadata, e.g. new topics
  EXPECT_FALSE(jb.ready());
  EXPECT_EQ(state(*g), "PreparingRebalance");
  EXPECT_EQ(g->heartbeat(2, a), ErrorCode::kRebalanceInProgress);
  auto ja = join(*g, a, "client-a", 10s, 30s);
  ASSERT_TRUE(ja.ready() && jb.ready());
  EXPECT_EQ(ja->generation, 3);
  EXPECT_EQ(jb->generation, 3);
  EXPECT_EQ(ja->leader, a);
  ASSERT_EQ(ja->members.size(), 2u);
  for (const auto& m : ja->members) EXPECT_EQ(m.metadata, m.member_id == b ? "v2" : "v1");
  EXPECT_TRUE(jb->members.empty()) << "only the leader gets the member list";
  EXPECT_EQ(state(*g), "CompletingRebalance");
}

// KIP-62, JoinGroup v1 rebalance_timeout_ms: "The maximum time in
// milliseconds that the coordinator will wait for each member to rejoin when
// rebalancing the group." The group waits for the largest of its members'
// timeouts; a member that has not rejoined by then is removed, even one that
// is still heartbeating.
TEST_F(KafkaGroupTest, RebalanceTimeoutRemovesMembersThatDidNotRejoin) {
  auto g = make_group();
  const auto [a, b] = stable_pair(*g, 60s, 8s);
  auto jb = join(*g, b, "client-b", 60s, 5s, "v2");  // b now asks 5 s; a's 8 s is the largest
  for (int i = 0; i < 7; ++i) {
    advance(*g, 1s);
    EXPECT_EQ(g->heartbeat(2, a), ErrorCode::kRebalanceInProgress);  // alive, never rejoins
  }
  advance(*g, 999ms);
  EXPECT_FALSE(jb.ready()) << "answered before the largest rebalance timeout passed";
  EXPECT_THAT(members(*g), UnorderedElementsAre(a, b));

  advance(*g, 1ms);
  ASSERT_TRUE(jb.ready());
  EXPECT_EQ(jb->error, ErrorCode::kNone);
  EXPECT_EQ(jb->generation, 3);
  EXPECT_EQ(jb->leader, b);
  EXPECT_THAT(member_ids_in(*jb), ElementsAre(b));
  EXPECT_THAT(members(*g), ElementsAre(b));
  EXPECT_EQ(g->heartbeat(2, a), ErrorCode::kUnknownMemberId);
  auto late = join(*g, a, "client-a", 60s, 8s);
  ASSERT_TRUE(late.ready());
  EXPECT_EQ(late->error, ErrorCode::kUnknownMemberId) << "a removed member must join afresh";
}

// KIP-134, broker config group.initial.rebalance.delay.ms: "The amount of
// time the group coordinator will wait for more consumers to join a new group
// before performing the first rebalance." and "As new members join the
// group, up to a maximum of max.poll.interval.ms, the rebalance will be
// delayed further by group.initial.rebalance.delay.ms."
TEST_F(KafkaGroupTest, InitialRebalanceDelayWaitsWhileNewMembersKeepJoining) {
  auto g = make_group(3s);
  auto ja = join(*g, "", "client-a", 10s, 30s);
  advance(*g, 1s);
  auto jb = join(*g, "", "client-b", 10s, 30s);  // in the first window
  advance(*g, 1999ms);
  EXPECT_FALSE(ja.ready() || jb.ready());
  advance(*g, 1ms);  // 3 s: b came in this window, so one more
  EXPECT_FALSE(ja.ready() || jb.ready());
  EXPECT_EQ(state(*g), "PreparingRebalance");
  advance(*g, 2999ms);
  EXPECT_FALSE(ja.ready() || jb.ready());
  advance(*g, 1ms);  // 6 s: a window without a newcomer ends the delay
  ASSERT_TRUE(ja.ready() && jb.ready());
  EXPECT_EQ(ja->generation, 1);
  EXPECT_EQ(ja->leader, ja->member_id);
  EXPECT_THAT(member_ids_in(*ja), ElementsAre(ja->member_id, jb->member_id));

  // Only a new (empty) group's rebalance is delayed: a member joining the
  // formed group gets its generation as soon as everyone has rejoined.
  auto jc = join(*g, "", "client-c", 10s, 30s);
  auto ja2 = join(*g, ja->member_id, "client-a", 10s, 30s);
  auto jb2 = join(*g, jb->member_id, "client-b", 10s, 30s);
  ASSERT_TRUE(jc.ready() && ja2.ready() && jb2.ready());
  EXPECT_EQ(jc->generation, 2);
}

TEST_F(KafkaGroupTest, InitialRebalanceDelayOfALoneMemberIsOneWindow) {
  auto g = make_group(3s);
  auto ja = join(*g, "", "client-a", 10s, 30s);
  advance(*g, 2999ms);
  EXPECT_FALSE(ja.ready());
  advance(*g, 1ms);
  ASSERT_TRUE(ja.ready());
  EXPECT_EQ(ja->generation, 1);
}

// KIP-134: the delay grows "up to a maximum of max.poll.interval.ms" (the
// rebalance timeout): a newcomer in the last window earns no window past it.
TEST_F(KafkaGroupTest, InitialRebalanceDelayEndsAtTheRebalanceTimeout) {
  auto g = make_group(3s);
  auto ja = join(*g, "", "client-a", 10s, 5s);
  advance(*g, 1s);
  auto jb = join(*g, "", "client-b", 10s, 5s);
  advance(*g, 2s);  // 3 s: extended to the 5 s rebalance timeout, not to 6 s
  advance(*g, 1s);
  auto jc = join(*g, "", "client-c", 10s, 5s);  // 4 s: in the last window
  advance(*g, 999ms);
  EXPECT_FALSE(ja.ready() || jb.ready() || jc.ready());
  advance(*g, 1ms);  // 5 s
  ASSERT_TRUE(ja.ready() && jb.ready() && jc.ready());
  EXPECT_EQ(ja->generation, 1);
  EXPECT_EQ(ja->members.size(), 3u);
}

// Kafka's protocol: every completed rebalance starts the next generation;
// SyncGroup, Heartbeat and OffsetCommit carrying another generation get
// ILLEGAL_GENERATION (22). Generations survive a restart (restore()), so a
// member from before it can never match a new one.
TEST_F(KafkaGroupTest, EveryRebalanceStartsTheNextGenerationAndOthersAreRefused) {
  auto g = make_group();
  std::vector<int32_t> stored;
  g->on_snapshot([&](const GroupSnapshot& s) { stored.push_back(s.generation); });
  GroupSnapshot before_restart;
  before_restart.generation = 41;
  before_restart.protocol_type = "consumer";
  g->restore(before_restart);
  auto ja = join(*g, "", "client-a", 10s, 30s);
  ASSERT_TRUE(ja.ready());
  const std::string a = ja->member_id;
  EXPECT_EQ(ja->generation, 42);

  auto jb = join(*g, "", "client-b", 10s, 30s);
  auto ja2 = join(*g, a, "client-a", 10s, 30s);
  ASSERT_TRUE(jb.ready() && ja2.ready());
  const std::string b = jb->member_id;
  EXPECT_EQ(ja2->generation, 43);
  auto stale = sync(*g, 42, a, {{a, "x"}});
  ASSERT_TRUE(stale.ready());
  EXPECT_EQ(stale->error, ErrorCode::kIllegalGeneration);
  EXPECT_EQ(g->heartbeat(42, a), ErrorCode::kIllegalGeneration);
  auto sa = sync(*g, 43, a, {{a, "for-a"}, {b, "for-b"}});
  ASSERT_TRUE(sa.ready());
  EXPECT_EQ(g->check_commit(42, a), ErrorCode::kIllegalGeneration);
  EXPECT_EQ(g->check_commit(43, a), ErrorCode::kNone);

  EXPECT_EQ(g->leave(b), ErrorCode::kNone);  // a rebalance without b
  auto ja3 = join(*g, a, "client-a", 10s, 30s);
  ASSERT_TRUE(ja3.ready());
  EXPECT_EQ(ja3->generation, 44);
  EXPECT_EQ(g->leave(a), ErrorCode::kNone);  // the group empties: one more
  EXPECT_EQ(state(*g), "Empty");
  // Stored when each generation forms, when it becomes Stable (43, after
  // the leader's SyncGroup), and when the group empties (45).
  EXPECT_THAT(stored, ElementsAre(42, 43, 43, 44, 45));
}

// The asio timer only wakes the group: what is due is decided by the
// injected clock. A real wake-up with the clock standing still ends no
// session; once the clock has moved, the next wake-up does.
TEST_F(KafkaGroupTest, TimerWakeUpsDecideByTheInjectedClock) {
  auto g = make_group();
  auto ja = join(*g, "", "client-a", 20ms, 20ms);
  ASSERT_TRUE(ja.ready());       // generation 1: a's 20 ms session runs
  ASSERT_EQ(io_.run_one(), 1u);  // the timer, after about 20 real ms
  EXPECT_THAT(members(*g), ElementsAre(ja->member_id));
  clock_.advance(20ms);
  ASSERT_EQ(io_.run_one(), 1u);  // the re-armed timer
  EXPECT_TRUE(members(*g).empty());
  EXPECT_EQ(state(*g), "Empty");
}

// Kafka's GroupMetadataManager stores the whole group (members, timeouts,
// subscriptions, assignments) and loads it back when it becomes the
// coordinator: a member of a Stable generation carries on after a restart
// without rejoining, its heartbeat and first OffsetCommit accepted with its
// old generation, and the commit fence learns the members at once.
TEST_F(KafkaGroupTest, StableGroupRestoredFromItsSnapshotKeepsMembersGenerationAndAssignments) {
  auto before = make_group();
  std::optional<GroupSnapshot> stored;
  before->on_snapshot([&](const GroupSnapshot& s) { stored = s; });
  const auto [a, b] = stable_pair(*before, 10s, 30s);
  ASSERT_TRUE(stored.has_value());
  ASSERT_EQ(stored->state, keel::kafka::GroupState::kStable);

  auto after = make_group();  // the restarted broker's group, fed the stored text
  std::vector<std::pair<int32_t, std::vector<std::string>>> fence;
  std::optional<keel::sdk::GroupView> view;
  after->on_members([&](const keel::sdk::GroupView& v) {
    std::vector<std::string> ids;
    for (const auto& m : v.members) ids.push_back(m.member_id);
    fence.emplace_back(v.generation, ids);
    view = v;
  });
  after->restore(keel::kafka::parse_snapshot(keel::kafka::format_snapshot(*stored)));

  ASSERT_EQ(fence.size(), 1u) << "the kernel's fence must hear of the members at load";
  EXPECT_EQ(fence[0].first, 2);
  EXPECT_THAT(fence[0].second, UnorderedElementsAre(a, b));
  // What operators' views are told: state, protocol, leader and clients.
  EXPECT_EQ(view->state, "Stable");
  EXPECT_EQ(view->protocol, "range");
  EXPECT_EQ(view->leader_id, a);
  for (const auto& m : view->members) EXPECT_EQ(m.client_id, m.member_id == a ? "client-a" : "client-b");
  EXPECT_EQ(state(*after), "Stable");
  EXPECT_EQ(after->heartbeat(2, a), ErrorCode::kNone);
  EXPECT_EQ(after->check_commit(2, b), ErrorCode::kNone);
  EXPECT_EQ(after->check_commit(1, b), ErrorCode::kIllegalGeneration);
  auto sb = sync(*after, 2, b);  // a client that lost its SyncGroup answer asks again
  ASSERT_TRUE(sb.ready());
  EXPECT_EQ(sb->assignment, "for-b");
  const auto d = after->describe();
  EXPECT_EQ(d.protocol, "range");
  ASSERT_EQ(d.members.size(), 2u);
  for (const auto& m : d.members) {
    EXPECT_EQ(m.client_id, m.member_id == a ? "client-a" : "client-b");
    EXPECT_EQ(m.metadata, "v1");
  }
  // The leader is the same member: its rejoin makes generation 3, as it
  // would have without the restart.
  auto jb = join(*after, b, "client-b", 10s, 30s, "v2");
  auto ja = join(*after, a, "client-a", 10s, 30s);
  ASSERT_TRUE(ja.ready() && jb.ready());
  EXPECT_EQ(ja->generation, 3);
  EXPECT_EQ(ja->leader, a);
}

// Kafka reschedules every loaded member's heartbeat expiration: a member
// that does not come back after the restart is removed when its session
// (restarted at load) ends, and the others rebalance without it.
TEST_F(KafkaGroupTest, RestoredMemberThatNeverComesBackIsExpiredByItsSessionTimeout) {
  auto before = make_group();
  std::optional<GroupSnapshot> stored;
  before->on_snapshot([&](const GroupSnapshot& s) { stored = s; });
  const auto [a, b] = stable_pair(*before, 10s, 30s);
  advance(*before, 8s);  // time spent before the restart does not count

  auto after = make_group();
  std::vector<int32_t> fence;
  after->on_members([&](const keel::sdk::GroupView& v) { fence.push_back(v.generation); });
  after->restore(*stored);
  for (int i = 0; i < 3; ++i) {
    advance(*after, 3s);
    EXPECT_EQ(after->heartbeat(2, b), ErrorCode::kNone);
  }
  advance(*after, 999ms);
  EXPECT_THAT(members(*after), UnorderedElementsAre(a, b));
  advance(*after, 1ms);  // 10 s after the load
  EXPECT_THAT(members(*after), ElementsAre(b));
  EXPECT_EQ(after->heartbeat(2, b), ErrorCode::kRebalanceInProgress);
  auto jb = join(*after, b, "client-b", 10s, 30s);
  ASSERT_TRUE(jb.ready());
  EXPECT_EQ(jb->generation, 3);
  EXPECT_EQ(jb->leader, b);
  EXPECT_THAT(member_ids_in(*jb), ElementsAre(b));
}

// A snapshot taken when the generation formed but before the leader's
// SyncGroup holds no assignment to hand out: after the load, the members'
// SyncGroup and heartbeat say REBALANCE_IN_PROGRESS, they rejoin with their
// member ids, and the next generation is a new number.
TEST_F(KafkaGroupTest, GroupStoredBeforeTheLeadersSyncMakesItsMembersRejoin) {
  auto before = make_group();
  std::optional<GroupSnapshot> stored;
  before->on_snapshot([&](const GroupSnapshot& s) { stored = s; });
  auto ja = join(*before, "", "client-a", 10s, 30s);
  ASSERT_TRUE(ja.ready());
  ASSERT_EQ(stored->state, keel::kafka::GroupState::kCompletingRebalance);
  const std::string a = ja->member_id;

  auto after = make_group();
  after->restore(keel::kafka::parse_snapshot(keel::kafka::format_snapshot(*stored)));
  auto sa = sync(*after, 1, a, {{a, "for-a"}});
  ASSERT_TRUE(sa.ready());
  EXPECT_EQ(sa->error, ErrorCode::kRebalanceInProgress);
  EXPECT_EQ(after->heartbeat(1, a), ErrorCode::kRebalanceInProgress);
  auto ja2 = join(*after, a, "client-a", 10s, 30s);
  ASSERT_TRUE(ja2.ready());
  EXPECT_EQ(ja2->error, ErrorCode::kNone);
  EXPECT_EQ(ja2->generation, 2);
  EXPECT_EQ(ja2->member_id, a);
}

// The same, when a member never rejoins: removed at the rebalance timeout.
TEST_F(KafkaGroupTest, RestoredRebalanceEndsAtTheRebalanceTimeout) {
  auto before = make_group();
  std::optional<GroupSnapshot> stored;
  before->on_snapshot([&](const GroupSnapshot& s) { stored = s; });
  auto ja = join(*before, "", "client-a", 60s, 5s);
  ASSERT_TRUE(ja.ready());

  auto after = make_group();
  after->restore(*stored);
  advance(*after, 4999ms);
  EXPECT_EQ(state(*after), "PreparingRebalance");
  advance(*after, 1ms);
  EXPECT_EQ(state(*after), "Empty");
  EXPECT_EQ(after->heartbeat(1, ja->member_id), ErrorCode::kUnknownMemberId);
}

}  // namespace
