// ReplicaServer over real loopback sockets: an answer now, and the three
// ways a parked fetch is answered (ReplicaServer, "A parked fetch"): by
// another thread through the Outlet, whole or in part (the connection's
// thread sends the rest), by the connection's thread when the fetch is due,
// and when another thread hands it over with wake().
#include "replication/replica_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "replication/frame_socket.hpp"
#include "replication/replica_wire.hpp"

namespace keel {
namespace {

constexpr int64_t kLong = 30000;  // a deadline no passing test comes near

// Which way the test handler answers; the fetch's broker_id picks it.
enum Way : int32_t { kNow = 1, kOtherThread = 2, kWhenDue = 3, kHandedOver = 4 };

ReplicaFetchResponse response_with(const std::string& topic, std::string records) {
  ReplicaFetchResponse r;
  ReplicaFetchAnswer a;
  a.topic = topic;
  a.records = std::move(records);
  r.partitions.push_back(std::move(a));
  return r;
}

// A parked fetch whose answer comes from `answerer` (another thread) or
// from due(). Its destructor joins the answerer, as the ReplicaManager's
// waits for its watch callbacks: nothing uses the Outlet afterwards.
class TestParked final : public ReplicaServer::ParkedFetch {
 public:
  ~TestParked() override {
    if (answerer.joinable()) answerer.join();
  }
  int64_t check_every_ms() const override { return 5; }
  bool taken() const override { return taken_by_other.load(); }
  std::optional<ReplicaFetchResponse> due(bool woken) override {
    if (answer_when_due && (woken || !only_when_woken)) {
      answer_when_due = false;
      return response_with("due", woken ? "woken" : "timed out");
    }
    return std::nullopt;
  }

  std::thread answerer;
  bool answer_when_due = false;
  bool only_when_woken = false;
  std::atomic<bool> taken_by_other{false};
};

struct Served {
  std::string big;              // the kOtherThread answer's records
  std::promise<void> answered;  // set once the other thread's answer() returned
};

class ReplicaServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = server_.start("127.0.0.1", 0);
    client_ = FrameSocket::connect("127.0.0.1", port_, kLong);
  }
  void TearDown() override {
    client_.close();
    server_.stop();
  }

  ReplicaServer::Reply handle(const ReplicaFetchRequest& req, ReplicaServer::Outlet& out) {
    ReplicaServer::Reply reply;
    if (req.broker_id == kNow) {
      reply.now = response_with("now", "at once");
      return reply;
    }
    auto parked = std::make_unique<TestParked>();
    if (req.broker_id == kOtherThread) {
      parked->taken_by_other = true;
      parked->answerer = std::thread([this, &out] {
        out.answer(encode(response_with("other", state_.big)));
        state_.answered.set_value();
      });
    } else if (req.broker_id == kWhenDue) {
      parked->answer_when_due = true;
    } else if (req.broker_id == kHandedOver) {
      parked->answer_when_due = true;
      parked->only_when_woken = true;
      parked->answerer = std::thread([&out] { out.wake(); });
    }
    reply.parked = std::move(parked);
    return reply;
  }

  ReplicaFetchResponse fetch(int32_t way, bool wait_for_other_thread = false) {
    ReplicaFetchRequest req;
    req.broker_id = way;
    req.max_wait_ms = 500;
    client_.send_frame(encode(req), kLong);
    // The answer is not read until the other thread's send stopped: the
    // socket took part of it, and the connection's thread sends the rest.
    if (wait_for_other_thread) state_.answered.get_future().wait();
    return decode_fetch_response(client_.recv_frame(kLong));
  }

  Served state_;
  ReplicaServer server_{
      [this](const ReplicaFetchRequest& r, ReplicaServer::Outlet& out) { return handle(r, out); }};
  int32_t port_ = 0;
  FrameSocket client_;
};

TEST_F(ReplicaServerTest, AnAnswerNowGoesOutAtOnce) {
  const auto r = fetch(kNow);
  ASSERT_EQ(r.partitions.size(), 1u);
  EXPECT_EQ(r.partitions[0].records, "at once");
}

TEST_F(ReplicaServerTest, AnotherThreadsAnswerTheSocketCannotTakeIsFinishedByTheConnection) {
  state_.big.assign(48u << 20, '\0');  // more than loopback socket buffers hold unread
  for (size_t i = 0; i < state_.big.size(); ++i) state_.big[i] = static_cast<char>((i * 131) ^ (i >> 13));
  const auto r = fetch(kOtherThread, true);
  ASSERT_EQ(r.partitions.size(), 1u);
  EXPECT_EQ(r.partitions[0].topic, "other");
  EXPECT_EQ(r.partitions[0].records.size(), state_.big.size());
  EXPECT_TRUE(r.partitions[0].records == state_.big);
  // The connection goes on: the next fetch is read and answered.
  EXPECT_EQ(fetch(kNow).partitions.at(0).records, "at once");
}

TEST_F(ReplicaServerTest, AParkedFetchIsAnsweredByItsConnectionWhenDue) {
  const auto r = fetch(kWhenDue);
  ASSERT_EQ(r.partitions.size(), 1u);
  EXPECT_EQ(r.partitions[0].records, "timed out");
  EXPECT_EQ(fetch(kNow).partitions.at(0).records, "at once");
}

TEST_F(ReplicaServerTest, AWakeHandsTheFetchToItsConnection) {
  const auto r = fetch(kHandedOver);
  ASSERT_EQ(r.partitions.size(), 1u);
  EXPECT_EQ(r.partitions[0].records, "woken");
  EXPECT_EQ(fetch(kNow).partitions.at(0).records, "at once");
}

}  // namespace
}  // namespace keel
