// The Kafka transport's request header and API table, against Kafka's
// message schemas (clients/src/main/resources/common/message/*.json): api
// keys and the first flexible version of every API Keel serves, request
// header v1 for classic versions and v2 (tagged fields, but a client id
// with an int16 length) for flexible ones, and ApiVersions answered in the
// v0 layout with a v0 response header whatever version was asked (KIP-511).
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "transport/kafka/api_table.hpp"
#include "transport/kafka/request_header.hpp"

namespace keel::kafka {
namespace {

using Bytes = std::vector<uint8_t>;

// key -> (name, first flexible version) from Kafka's schemas.
const std::map<int16_t, std::pair<std::string, int16_t>> kKafkaSchemas = {
    {0, {"Produce", 9}},
    {1, {"Fetch", 12}},
    {2, {"ListOffsets", 6}},
    {3, {"Metadata", 9}},
    {8, {"OffsetCommit", 8}},
    {9, {"OffsetFetch", 6}},
    {10, {"FindCoordinator", 3}},
    {11, {"JoinGroup", 6}},
    {12, {"Heartbeat", 4}},
    {13, {"LeaveGroup", 4}},
    {14, {"SyncGroup", 4}},
    {15, {"DescribeGroups", 5}},
    {16, {"ListGroups", 3}},
    {17, {"SaslHandshake", 2}},  // never flexible
    {18, {"ApiVersions", 3}},
    {19, {"CreateTopics", 5}},
    {20, {"DeleteTopics", 4}},
    {21, {"DeleteRecords", 2}},
    {22, {"InitProducerId", 2}},
    {23, {"OffsetForLeaderEpoch", 4}},
    {29, {"DescribeAcls", 2}},
    {30, {"CreateAcls", 2}},
    {31, {"DeleteAcls", 2}},
    {32, {"DescribeConfigs", 4}},
    {33, {"AlterConfigs", 2}},
    {35, {"DescribeLogDirs", 2}},
    {36, {"SaslAuthenticate", 2}},
    {50, {"DescribeUserScramCredentials", 0}},
    {51, {"AlterUserScramCredentials", 0}},
    {37, {"CreatePartitions", 2}},
    {42, {"DeleteGroups", 2}},
    {44, {"IncrementalAlterConfigs", 1}},
    // OffsetDelete has no flexible version: 1 is past its last (v0).
    {47, {"OffsetDelete", 1}},
    {60, {"DescribeCluster", 0}},
};

Bytes header(int16_t key, int16_t version, int32_t correlation, const std::string& client_id) {
  Bytes b;
  auto put16 = [&b](int64_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
  };
  put16(key);
  put16(version);
  put16(correlation >> 16);
  put16(correlation);
  put16(static_cast<int64_t>(client_id.size()));
  for (const char c : client_id) b.push_back(static_cast<uint8_t>(c));
  return b;
}

struct Parsed {
  HeaderVerdict verdict;
  Request req;
  const ApiSpec* spec = nullptr;
};

Parsed parse(const Bytes& b) {
  Parsed p{HeaderVerdict::kServe, {}, nullptr};
  Reader r(b.data(), b.size());
  p.verdict = read_request_header(r, p.req, &p.spec);
  p.req.body = r;
  return p;
}

TEST(KafkaApiTable, KeysNamesAndFlexibleVersionsAreKafkas) {
  std::set<int16_t> seen;
  for (const ApiSpec& api : api_table()) {
    SCOPED_TRACE(api.name);
    EXPECT_TRUE(seen.insert(api.key).second) << "key listed twice";
    const auto it = kKafkaSchemas.find(api.key);
    ASSERT_NE(it, kKafkaSchemas.end()) << "key " << api.key << " not in the list this test knows";
    EXPECT_EQ(api.name, it->second.first);
    EXPECT_EQ(api.flexible_from, it->second.second);
    EXPECT_GE(api.min_version, 0);
    EXPECT_LE(api.min_version, api.max_version);
    EXPECT_NE(api.handler, nullptr);
    EXPECT_EQ(find_api(api.key), &api);
  }
  EXPECT_EQ(find_api(kApiVersionsKey)->name, std::string("ApiVersions"));
  EXPECT_EQ(find_api(4), nullptr);  // LeaderAndIsr: inter-broker, not served
}

TEST(KafkaRequestHeader, ClassicVersionsUseHeaderV1) {
  Bytes b = header(3, 4, 42, "cli");
  b.push_back(0x55);  // the body
  const Parsed p = parse(b);
  ASSERT_EQ(p.verdict, HeaderVerdict::kServe);
  EXPECT_EQ(p.spec->name, std::string("Metadata"));
  EXPECT_EQ(p.req.api_key, 3);
  EXPECT_EQ(p.req.api_version, 4);
  EXPECT_EQ(p.req.correlation_id, 42);
  EXPECT_EQ(p.req.client_id, "cli");
  EXPECT_FALSE(p.req.flexible);
  EXPECT_FALSE(flexible_response_header(p.req));
  Reader body = p.req.body;
  ASSERT_EQ(body.remaining(), 1u);
  EXPECT_EQ(body.int8(), 0x55);
}

TEST(KafkaRequestHeader, NullClientIdIsMinusOne) {
  Bytes b = header(3, 0, 1, "");
  b[8] = b[9] = 0xff;
  const Parsed p = parse(b);
  ASSERT_EQ(p.verdict, HeaderVerdict::kServe);
  EXPECT_EQ(p.req.client_id, std::nullopt);
}

TEST(KafkaRequestHeader, FlexibleVersionsUseHeaderV2WithAnInt16ClientId) {
  // ApiVersions v3: client id "x" with its int16 length, then a tagged-field
  // section holding one field (tag 0, two bytes), then the body.
  Bytes b = header(kApiVersionsKey, 3, 7, "x");
  const Bytes tagged = {0x01, 0x00, 0x02, 'a', 'b'};
  b.insert(b.end(), tagged.begin(), tagged.end());
  b.push_back(0x02);  // body: compact string "k" follows
  b.push_back('k');
  const Parsed p = parse(b);
  ASSERT_EQ(p.verdict, HeaderVerdict::kServe);
  EXPECT_TRUE(p.req.flexible);
  EXPECT_EQ(p.req.client_id, "x");
  Reader body = p.req.body;
  EXPECT_EQ(body.compact_string(), "k");
  // ApiVersions answers with response header v0 even then (KIP-511).
  EXPECT_FALSE(flexible_response_header(p.req));
}

TEST(KafkaRequestHeader, OtherFlexibleRequestsGetResponseHeaderV1) {
  Request req;
  req.api_key = 0;
  req.flexible = true;
  EXPECT_TRUE(flexible_response_header(req));
  req.flexible = false;
  EXPECT_FALSE(flexible_response_header(req));
}

TEST(KafkaRequestHeader, ApiVersionsOfAnUnknownVersionIsServedInTheV0Layout) {
  // A client newer than the broker tries its own newest version first.
  Bytes b = header(kApiVersionsKey, 9, 5, "new-client");
  b.push_back(0x00);  // its tagged fields, which are not read
  const Parsed p = parse(b);
  ASSERT_EQ(p.verdict, HeaderVerdict::kServe);
  EXPECT_FALSE(p.req.flexible);
  EXPECT_EQ(p.req.client_id, "new-client");
  EXPECT_EQ(p.req.correlation_id, 5);
}

TEST(KafkaRequestHeader, UnknownApisAndUnsupportedVersionsStopAfterTheCorrelationId) {
  const Parsed unknown = parse(header(999, 0, 1, "c"));
  EXPECT_EQ(unknown.verdict, HeaderVerdict::kUnknownApi);
  EXPECT_EQ(unknown.spec, nullptr);
  EXPECT_EQ(unknown.req.correlation_id, 1);

  const ApiSpec* produce = find_api(0);
  const Parsed above = parse(header(0, static_cast<int16_t>(produce->max_version + 1), 2, "c"));
  EXPECT_EQ(above.verdict, HeaderVerdict::kUnsupportedVersion);
  EXPECT_EQ(above.spec, produce);
  EXPECT_EQ(above.req.client_id, std::nullopt);  // not read

  const ApiSpec* fetch = find_api(1);
  ASSERT_GT(fetch->min_version, 0);
  const Parsed below = parse(header(1, static_cast<int16_t>(fetch->min_version - 1), 3, "c"));
  EXPECT_EQ(below.verdict, HeaderVerdict::kUnsupportedVersion);
}

TEST(KafkaRequestHeader, HeadersCutShortAreProtocolErrors) {
  const Bytes full = header(3, 1, 9, "client");
  for (size_t n : {size_t{0}, size_t{3}, size_t{7}, size_t{9}, full.size() - 1}) {
    SCOPED_TRACE(n);
    const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(parse(cut), ProtocolError);
  }
  // A flexible header whose tagged-field section is missing.
  EXPECT_THROW(parse(header(kApiVersionsKey, 3, 1, "x")), ProtocolError);
}

}  // namespace
}  // namespace keel::kafka
