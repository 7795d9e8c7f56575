// The HTTP transport's answer to a produce or consume on a partition another
// broker leads (docs/protocol.md, "Cluster view and partition leaders"):
// 421 naming the leader, with its HTTP URL and the same request there when
// it advertises an HTTP listener. A single broker leads every partition, so
// the broker's real table is read "as broker 1" (its cluster_info reports
// id 1; everything else, partition_state and list_brokers included, is the
// real broker's), which makes broker 0 the leader of someone else's
// request.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "broker.hpp"
#include "common/clock.hpp"
#include "config/config.hpp"
#include "support/temp_dir.hpp"
#include "transport/http/checked_broker.hpp"
#include "transport/http/errors.hpp"
#include "transport/http/exchange.hpp"

namespace keel::web {
namespace {

class HttpLeadershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<keel::test::TempDir>("keel-http-leadership");
    const std::string text = "[broker]\ndata_dir = \"" + dir_->sub("data") +
                             "\"\nplugin_path = [\"" KEEL_TEST_PLUGIN_DIR
                             "\"]\nauto_create_topics = false\n"
                             "[topics.t]\npartitions = 2\n";
    broker_ = std::make_unique<keel::Broker>(keel::parse_config(text, "test.toml"), &clock_);
    broker_->start();
    real_cluster_info_ = broker_->api()->cluster_info;
    as_broker_1_ = *broker_->api();
    as_broker_1_.cluster_info = [](void* ctx, keel_cluster_info* out) {
      real_cluster_info_(ctx, out);
      out->broker_id = 1;
    };
  }
  void TearDown() override {
    broker_.reset();
    dir_.reset();
  }

  // The answer to `fn`'s refusal of the request `target`.
  template <class Fn>
  static Response refusal(Fn&& fn, const std::string& target) {
    try {
      fn();
    } catch (...) {
      return response_for_current_exception(target);
    }
    ADD_FAILURE() << "nothing thrown";
    return {};
  }

  keel::ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<keel::test::TempDir> dir_;
  std::unique_ptr<keel::Broker> broker_;
  static inline decltype(keel_broker_api::cluster_info) real_cluster_info_ = nullptr;
  keel_broker_api as_broker_1_{};
};

TEST_F(HttpLeadershipTest, TheLeaderServesItsOwnPartitions) {
  const CheckedBroker leader(broker_->api());
  EXPECT_NO_THROW(leader.require_leader("t", 0));
  EXPECT_NO_THROW(leader.require_leader("t", 1));
  // Unknown to the view: the call that follows answers 404 for it.
  EXPECT_NO_THROW(leader.require_leader("t", 2));
  EXPECT_NO_THROW(leader.require_leader("missing", 0));
}

TEST_F(HttpLeadershipTest, AnotherBrokerIsToldTheLeaderAndRedirected) {
  const CheckedBroker other(&as_broker_1_);
  const std::string target = "/topics/t/partitions/1/records?offset=5";

  // The leader has no HTTP listener yet: named, nowhere to redirect.
  Response r = refusal([&] { other.require_leader("t", 1); }, target);
  EXPECT_EQ(static_cast<unsigned>(r.status), 421u);
  auto error = nlohmann::json::parse(r.body)["error"];
  EXPECT_EQ(error["code"], "not_leader");
  EXPECT_EQ(error["leader"], 0);
  EXPECT_TRUE(error["leader_url"].is_null()) << error;
  EXPECT_FALSE(error.contains("location")) << error;
  EXPECT_NE(error["message"].get<std::string>().find("broker 1 does not lead t-1; broker 0 does"),
            std::string::npos)
      << error;

  broker_->api()->advertise_listener(broker_->api()->ctx, "http", "127.0.0.9", 8089);
  r = refusal([&] { other.require_leader("t", 1); }, target);
  EXPECT_EQ(static_cast<unsigned>(r.status), 421u);
  error = nlohmann::json::parse(r.body)["error"];
  EXPECT_EQ(error["leader"], 0);
  EXPECT_EQ(error["leader_url"], "http://127.0.0.9:8089");
  EXPECT_EQ(error["location"], "http://127.0.0.9:8089" + target);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0],
            (std::pair<std::string, std::string>{"Location", "http://127.0.0.9:8089" + target}));

  // The broker's own refusal (leadership moved after the check) is
  // answered the same way, by whatever call met it.
  r = refusal([&] { throw other.not_leader("t", 0); }, "/topics/t/records");
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["location"], "http://127.0.0.9:8089/topics/t/records");
}

}  // namespace
}  // namespace keel::web
