// The replication protocol's codec (replica_wire.hpp): round trips, the
// byte layout, and strict decoding (every refusal is a keel::Error naming
// the field that did not parse).
#include "replication/replica_wire.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "support/error_of.hpp"

namespace keel {
namespace {

using test::error_of;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

ReplicaFetchRequest sample_request() {
  ReplicaFetchRequest r;
  r.broker_id = 7;
  r.max_wait_ms = 500;
  r.partitions.push_back({"orders", 3, 12, 4096, 11, 1 << 20, 4000});
  r.partitions.push_back({"payments.eu", 0, 1, 0, -1, 65536, -1});
  return r;
}

ReplicaFetchResponse sample_response() {
  ReplicaFetchResponse r;
  ReplicaFetchAnswer ok;
  ok.topic = "orders";
  ok.partition = 3;
  ok.high_watermark = 4000;
  ok.log_start_offset = 100;
  ok.log_end_offset = 4100;
  ok.records = std::string("\x00\x01\xff batch bytes \x00", 17);  // binary, NULs kept
  ReplicaFetchAnswer diverging;
  diverging.topic = "payments.eu";
  diverging.partition = 0;
  diverging.error = ReplicaError::kNone;
  diverging.high_watermark = 10;
  diverging.log_start_offset = 0;
  diverging.log_end_offset = 20;
  diverging.diverging_epoch = 4;
  diverging.diverging_end_offset = 15;
  ReplicaFetchAnswer refused;
  refused.topic = "t";
  refused.partition = 9;
  refused.error = ReplicaError::kFencedLeaderEpoch;
  refused.message = "leader epoch 3 is older than 5";
  r.partitions = {ok, diverging, refused};
  return r;
}

// Big-endian helpers for building frames by hand.
void be16(std::string& out, int16_t v) {
  out += static_cast<char>((v >> 8) & 0xff);
  out += static_cast<char>(v & 0xff);
}
void be32(std::string& out, int32_t v) {
  for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((v >> s) & 0xff);
}
void be64(std::string& out, int64_t v) {
  for (int s = 56; s >= 0; s -= 8) out += static_cast<char>((v >> s) & 0xff);
}
void str16(std::string& out, const std::string& s) {
  be16(out, static_cast<int16_t>(s.size()));
  out += s;
}

// The fields of a payload in order, each with its byte length: what a
// decoder cut short at any byte must name.
using Layout = std::vector<std::pair<std::string, size_t>>;

Layout layout_of(const ReplicaFetchRequest& r) {
  Layout l = {{"version", 2}, {"broker_id", 4}, {"max_wait_ms", 4}, {"partitions", 4}};
  for (const auto& p : r.partitions) {
    l.insert(l.end(), {{"topic", 2 + p.topic.size()},
                       {"partition", 4},
                       {"current_leader_epoch", 4},
                       {"fetch_offset", 8},
                       {"last_fetched_epoch", 4},
                       {"max_bytes", 4},
                       {"high_watermark", 8}});
  }
  return l;
}

Layout layout_of(const ReplicaFetchResponse& r) {
  Layout l = {{"version", 2}, {"error", 2 + r.error.size()}, {"partitions", 4}};
  for (const auto& p : r.partitions) {
    l.insert(l.end(), {{"topic", 2 + p.topic.size()},
                       {"partition", 4},
                       {"error", 2},
                       {"message", 2 + p.message.size()},
                       {"high_watermark", 8},
                       {"log_start_offset", 8},
                       {"log_end_offset", 8},
                       {"diverging_epoch", 4},
                       {"diverging_end_offset", 8},
                       {"records", 4 + p.records.size()}});
  }
  return l;
}

// The field a payload of `partitions` partitions, cut to `len` bytes,
// fails on: the one the cut ends inside, or the count when fewer bytes are
// left after it than it counts partitions (the decoder checks that first).
std::string field_at(const Layout& l, size_t len, size_t partitions) {
  size_t start = 0;
  for (const auto& [field, size] : l) {
    if (len < start + size) return field;
    start += size;
    if (field == "partitions" && len - start < partitions) return field;
  }
  return "";
}

size_t total(const Layout& l) {
  size_t n = 0;
  for (const auto& f : l) n += f.second;
  return n;
}

TEST(ReplicaWire, RequestRoundTripsEveryField) {
  const ReplicaFetchRequest r = sample_request();
  const std::string payload = encode(r);
  EXPECT_EQ(payload.size(), total(layout_of(r)));
  EXPECT_EQ(decode_fetch_request(payload), r);
  const ReplicaFetchRequest empty;
  EXPECT_EQ(decode_fetch_request(encode(empty)), empty);
}

TEST(ReplicaWire, ResponseRoundTripsEveryField) {
  const ReplicaFetchResponse r = sample_response();
  const std::string payload = encode(r);
  EXPECT_EQ(payload.size(), total(layout_of(r)));
  const ReplicaFetchResponse back = decode_fetch_response(payload);
  EXPECT_EQ(back, r);
  ASSERT_EQ(back.partitions.size(), 3u);
  EXPECT_EQ(back.partitions[0].records, r.partitions[0].records);
  EXPECT_EQ(back.partitions[1].diverging_epoch, 4);
  EXPECT_EQ(back.partitions[1].diverging_end_offset, 15);
  EXPECT_EQ(back.partitions[2].error, ReplicaError::kFencedLeaderEpoch);

  ReplicaFetchResponse whole;
  whole.error = "replication protocol version 9 is not spoken here";
  EXPECT_EQ(decode_fetch_response(encode(whole)), whole);
}

TEST(ReplicaWire, EveryPartitionErrorRoundTripsAndHasAName) {
  for (int16_t e = 0; e <= static_cast<int16_t>(ReplicaError::kNotReplica); ++e) {
    ReplicaFetchResponse r;
    r.partitions.resize(1);
    r.partitions[0].error = static_cast<ReplicaError>(e);
    EXPECT_EQ(decode_fetch_response(encode(r)).partitions[0].error, static_cast<ReplicaError>(e));
    EXPECT_STRNE(replica_error_name(static_cast<ReplicaError>(e)), "unknown") << e;
  }
  EXPECT_STREQ(replica_error_name(ReplicaError::kOffsetOutOfRange), "offset_out_of_range");
}

TEST(ReplicaWire, RequestBytesAreBigEndianAsDocumented) {
  ReplicaFetchRequest r;
  r.broker_id = 0x01020304;
  r.max_wait_ms = 250;
  r.partitions.push_back({"ab", 5, 6, 0x0102030405060708LL, -1, 1024, 99});
  std::string want;
  be16(want, kReplicaProtocolVersion);
  be32(want, 0x01020304);
  be32(want, 250);
  be32(want, 1);
  str16(want, "ab");
  be32(want, 5);
  be32(want, 6);
  be64(want, 0x0102030405060708LL);
  be32(want, -1);
  be32(want, 1024);
  be64(want, 99);
  EXPECT_EQ(encode(r), want);
}

TEST(ReplicaWire, OverlongMessageIsCutToAStringThatDecodes) {
  ReplicaFetchResponse r;
  r.partitions.resize(1);
  r.partitions[0].error = ReplicaError::kStorage;
  r.partitions[0].message = std::string(40000, 'm');
  const ReplicaFetchResponse back = decode_fetch_response(encode(r));
  EXPECT_EQ(back.partitions[0].message, std::string(32767, 'm'));
}

// Decodes `msg` cut at every byte short of its end: each cut is CORRUPT
// and names the field it fails on.
template <class Message, class Decode>
void expect_every_cut_refused(const Message& msg, Decode decode) {
  const std::string payload = encode(msg);
  const Layout l = layout_of(msg);
  for (size_t len = 0; len < payload.size(); ++len) {
    const Error e = error_of([&] { decode(payload.substr(0, len)); });
    EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT) << "cut at " << len;
    const std::string m = e.what();
    EXPECT_TRUE(contains(m, "malformed replication frame")) << m;
    EXPECT_TRUE(contains(m, "(" + field_at(l, len, msg.partitions.size()) + ")"))
        << "cut at " << len << ": " << m;
  }
}

TEST(ReplicaWire, RequestCutAtAnyByteIsCorruptAndNamesTheField) {
  expect_every_cut_refused(sample_request(), decode_fetch_request);
}

TEST(ReplicaWire, ResponseCutAtAnyByteIsCorruptAndNamesTheField) {
  expect_every_cut_refused(sample_response(), decode_fetch_response);
}

TEST(ReplicaWire, TrailingBytesAreRefused) {
  for (const std::string& payload : {encode(sample_request()) + "x", encode(ReplicaFetchRequest{}) + "xyz"}) {
    const Error e = error_of([&] { decode_fetch_request(payload); });
    EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT);
    EXPECT_TRUE(contains(e.what(), "(the end)")) << e.what();
  }
  const Error e = error_of([&] { decode_fetch_response(encode(sample_response()) + "!!"); });
  EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT);
  EXPECT_TRUE(contains(e.what(), "2 bytes left over")) << e.what();
}

TEST(ReplicaWire, NegativeAndOversizedCountsAreRefused) {
  for (int32_t n : {-1, INT32_MIN, 1000, INT32_MAX}) {
    std::string req;
    be16(req, kReplicaProtocolVersion);
    be32(req, 1);
    be32(req, 0);
    be32(req, n);
    Error e = error_of([&] { decode_fetch_request(req); });
    EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT);
    EXPECT_TRUE(contains(e.what(), "(partitions): a count of " + std::to_string(n))) << e.what();

    std::string resp;
    be16(resp, kReplicaProtocolVersion);
    str16(resp, "");
    be32(resp, n);
    e = error_of([&] { decode_fetch_response(resp); });
    EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT);
    EXPECT_TRUE(contains(e.what(), "(partitions): a count of " + std::to_string(n))) << e.what();
  }
}

TEST(ReplicaWire, NegativeLengthsAreRefused) {
  std::string req;
  be16(req, kReplicaProtocolVersion);
  be32(req, 1);
  be32(req, 0);
  be32(req, 1);
  be16(req, -1);  // topic
  req += std::string(40, '\0');
  Error e = error_of([&] { decode_fetch_request(req); });
  EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT);
  EXPECT_TRUE(contains(e.what(), "(topic): a negative length")) << e.what();

  // A records length of -1 (Kafka's null bytes) is not this protocol's.
  ReplicaFetchResponse r;
  r.partitions.resize(1);
  std::string resp = encode(r);
  resp.replace(resp.size() - 4, 4, std::string(4, '\xff'));
  e = error_of([&] { decode_fetch_response(resp); });
  EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT);
  EXPECT_TRUE(contains(e.what(), "(records): a negative length")) << e.what();
}

TEST(ReplicaWire, UnknownPartitionErrorIsRefused) {
  for (int16_t code : {int16_t{7}, int16_t{-1}, int16_t{0x7fff}}) {
    ReplicaFetchResponse r;
    r.partitions.resize(1);
    r.partitions[0].topic = "t";
    std::string resp = encode(r);
    // version(2) error string(2) count(4) topic(2+1) partition(4) -> the error.
    const size_t at = 2 + 2 + 4 + 3 + 4;
    resp[at] = static_cast<char>((code >> 8) & 0xff);
    resp[at + 1] = static_cast<char>(code & 0xff);
    const Error e = error_of([&] { decode_fetch_response(resp); });
    EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT);
    EXPECT_TRUE(contains(e.what(), "(error): unknown partition error " + std::to_string(code))) << e.what();
  }
}

TEST(ReplicaWire, OtherProtocolVersionIsUnsupported) {
  for (int16_t v : {int16_t{1}, int16_t{-1}}) {
    std::string req = encode(sample_request());
    req[0] = static_cast<char>((v >> 8) & 0xff);
    req[1] = static_cast<char>(v & 0xff);
    Error e = error_of([&] { decode_fetch_request(req); });
    EXPECT_EQ(e.code(), KEEL_ERR_UNSUPPORTED);
    EXPECT_TRUE(contains(e.what(), "replication protocol version " + std::to_string(v))) << e.what();
    EXPECT_TRUE(contains(e.what(), "upgrade every broker")) << e.what();

    std::string resp = encode(sample_response());
    resp[0] = req[0];
    resp[1] = req[1];
    e = error_of([&] { decode_fetch_response(resp); });
    EXPECT_EQ(e.code(), KEEL_ERR_UNSUPPORTED);
    EXPECT_TRUE(contains(e.what(), "replication protocol version " + std::to_string(v))) << e.what();
  }
}

}  // namespace
}  // namespace keel
