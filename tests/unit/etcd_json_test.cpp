// etcd's JSON gateway shapes without an etcd: omitted zero fields, base64,
// int64 strings, prefix ranges and endpoint parsing.
#include "coordinator/etcd/etcd_json.hpp"

#include <gtest/gtest.h>

#include "coordinator/etcd/etcd_http.hpp"

namespace {

using namespace keel::etcd;
using nlohmann::json;

TEST(EtcdJson, AbsentFieldsReadAsZero) {
  // What etcd's gateway answers for a failed txn that ran no op, and an empty range.
  const auto txn = gateway::txn_result(json::parse(R"({"header":{"revision":"7"}})"));
  EXPECT_FALSE(txn.succeeded);
  EXPECT_EQ(txn.revision, 7);
  EXPECT_TRUE(txn.responses.empty());
  const auto range = gateway::range_result(json::parse(R"({"header":{"revision":"9"}})"));
  EXPECT_TRUE(range.kvs.empty());
  // A PUT event has no "type": PUT is the enum's zero.
  const auto e = gateway::watch_event(json::parse(R"({"kv":{"key":"YQ==","mod_revision":"3"}})"));
  EXPECT_EQ(e.type, WatchEvent::Type::Put);
  EXPECT_EQ(e.kv.key, "a");
  EXPECT_EQ(e.kv.value, "");
  EXPECT_EQ(e.kv.mod_revision, 3);
  EXPECT_EQ(e.kv.version, 0);
}

TEST(EtcdJson, RejectsMalformedFields) {
  EXPECT_THROW(gateway::key_value(json::parse(R"({"key":"not base64!"})")), std::invalid_argument);
  EXPECT_THROW(gateway::key_value(json::parse(R"({"mod_revision":"12x"})")), std::invalid_argument);
  EXPECT_THROW(gateway::watch_event(json::parse(R"({"type":"EXPIRE"})")), std::invalid_argument);
  EXPECT_THROW(gateway::op_result(json::parse(R"({})")), std::invalid_argument);
}

TEST(EtcdJson, EncodesComparesAndOpsAsTheGatewayExpects) {
  const auto cas = gateway::compare(Compare::mod_revision("k", Compare::Result::NotEqual, 12));
  EXPECT_EQ(cas, json::parse(R"({"key":"aw==","target":"MOD","result":"NOT_EQUAL","mod_revision":"12"})"));
  const auto absent = gateway::compare(Compare::create_revision("k", Compare::Result::Equal, 0));
  EXPECT_EQ(absent["create_revision"], "0");
  EXPECT_EQ(absent["target"], "CREATE");
  EXPECT_EQ(gateway::request_op(Op::put("k", "v", 5)),
            json::parse(R"({"request_put":{"key":"aw==","value":"dg==","lease":"5"}})"));
  EXPECT_EQ(gateway::request_op(Op::delete_prefix("a")),
            json::parse(R"({"request_delete_range":{"key":"YQ==","range_end":"Yg=="}})"));
}

TEST(EtcdJson, PrefixRangeEnd) {
  EXPECT_EQ(prefix_range_end("/keel/"), "/keel0");
  EXPECT_EQ(prefix_range_end("a\xff"), "b");
  EXPECT_EQ(prefix_range_end("\xff\xff"), std::string(1, '\0'));
  EXPECT_EQ(prefix_range_end(""), std::string(1, '\0'));
}

TEST(EtcdJson, ParsesEndpoints) {
  const auto e = parse_endpoint("http://10.0.0.1:2379/");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "10.0.0.1");
  EXPECT_EQ(e->port, "2379");
  const auto v6 = parse_endpoint("[::1]:2379");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_FALSE(parse_endpoint("localhost"));
  EXPECT_FALSE(parse_endpoint("host:port"));
  EXPECT_FALSE(parse_endpoint(":2379"));
}

}  // namespace
