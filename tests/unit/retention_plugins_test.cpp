// The built-in retention plugins `time` and `size`, loaded from their built
// libraries and driven through the C ABI as the broker drives them.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "support/plugin_fixture.hpp"

namespace {

using keel::test::LoadedPlugin;
using keel::test::TestConfig;
using keel::test::TestHost;

constexpr int64_t kNow = 1'700'000'000'000;

// One retention instance created through the plugin's vtable.
class RetentionUnderTest {
 public:
  RetentionUnderTest(const std::string& name, const std::string& toml)
      : plugin_("retention", name), config_(toml) {
    vt_ = plugin_.vtable<keel_retention_vtable>();
    keel_error err{};
    status_ = vt_->create(host_.get(), config_.get(), &instance_, &err);
    message_ = err.message;
  }
  ~RetentionUnderTest() {
    if (instance_ != nullptr) vt_->destroy(instance_);
  }
  RetentionUnderTest(const RetentionUnderTest&) = delete;
  RetentionUnderTest& operator=(const RetentionUnderTest&) = delete;

  keel_status status() const { return status_; }
  const std::string& message() const { return message_; }
  std::vector<std::string> problems() const { return config_.problems(); }

  size_t select(const std::vector<keel_segment_info>& segments, int64_t now_ms = kNow) {
    size_t count = SIZE_MAX;
    keel_error err{};
    EXPECT_EQ(vt_->select(instance_, segments.data(), segments.size(), sizeof(keel_segment_info), now_ms,
                          &count, &err),
              KEEL_OK)
        << err.message;
    return count;
  }
  // The same, with the segments laid out as a newer broker would: elements
  // `extra` bytes larger than this SDK's keel_segment_info (rule 2). The
  // plugin must step by the broker's size and still give the same answer.
  size_t select_from_newer_broker(const std::vector<keel_segment_info>& segments, size_t extra,
                                  int64_t now_ms = kNow) {
    const size_t size = sizeof(keel_segment_info) + extra;
    std::vector<unsigned char> bytes(segments.size() * size, 0xAB);  // unknown fields hold junk
    for (size_t i = 0; i < segments.size(); ++i) {
      keel_segment_info s = segments[i];
      s.struct_size = static_cast<uint32_t>(size);
      std::memcpy(bytes.data() + i * size, &s, sizeof s);
    }
    size_t count = SIZE_MAX;
    keel_error err{};
    EXPECT_EQ(vt_->select(instance_, reinterpret_cast<const keel_segment_info*>(bytes.data()),
                          segments.size(), size, now_ms, &count, &err),
              KEEL_OK)
        << err.message;
    return count;
  }

 private:
  LoadedPlugin plugin_;
  TestHost host_;
  TestConfig config_;
  const keel_retention_vtable* vt_ = nullptr;
  keel_retention* instance_ = nullptr;
  keel_status status_ = KEEL_ERR_INTERNAL;
  std::string message_;
};

keel_segment_info segment(int64_t max_timestamp, int64_t size_bytes = 100, int64_t last_modified_ms = -1) {
  keel_segment_info s{};
  s.struct_size = sizeof(s);
  s.size_bytes = size_bytes;
  s.max_timestamp = max_timestamp;
  s.last_modified_ms = last_modified_ms;
  return s;
}

// Segments of the given sizes, all with recent timestamps.
std::vector<keel_segment_info> sized(const std::vector<int64_t>& sizes) {
  std::vector<keel_segment_info> out;
  for (int64_t size : sizes) out.push_back(segment(kNow, size));
  return out;
}

bool mentions(const std::vector<std::string>& problems, const std::string& text) {
  for (const auto& p : problems) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

// ------------------------------------------------------------------ time

TEST(TimeRetention, DefaultsToSevenDays) {
  RetentionUnderTest r("time", "");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  const int64_t week = 604'800'000;
  EXPECT_EQ(r.select({segment(kNow - week - 1), segment(kNow)}), 1u);
  EXPECT_EQ(r.select({segment(kNow - week), segment(kNow)}), 0u);
}

TEST(TimeRetention, SegmentExactlyAtTheLimitStays) {
  RetentionUnderTest r("time", "retention_ms = 1000");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  EXPECT_EQ(r.select({segment(kNow - 1000), segment(kNow)}), 0u);
  EXPECT_EQ(r.select({segment(kNow - 1001), segment(kNow)}), 1u);
}

TEST(TimeRetention, NeverSelectsTheActiveSegment) {
  RetentionUnderTest r("time", "retention_ms = 1000");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  EXPECT_EQ(r.select({segment(kNow - 5000)}), 0u);
  EXPECT_EQ(r.select({segment(kNow - 5000), segment(kNow - 4000), segment(kNow - 3000)}), 2u);
  EXPECT_EQ(r.select({}), 0u);
}

TEST(TimeRetention, DeletesOnlyAPrefix) {
  RetentionUnderTest r("time", "retention_ms = 1000");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  // The third segment is old but follows a young one: deleting it would leave
  // a gap in the offsets.
  EXPECT_EQ(r.select({segment(kNow - 9000), segment(kNow - 10), segment(kNow - 9000), segment(kNow)}), 1u);
  EXPECT_EQ(r.select({segment(kNow - 10), segment(kNow - 9000), segment(kNow)}), 0u);
}

TEST(TimeRetention, FallsBackToModificationTimeWithoutTimestamps) {
  RetentionUnderTest r("time", "retention_ms = 1000");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  EXPECT_EQ(r.select({segment(-1, 100, kNow - 2000), segment(kNow)}), 1u);
  EXPECT_EQ(r.select({segment(-1, 100, kNow - 500), segment(kNow)}), 0u);
  // A record timestamp wins over the mtime when both exist.
  EXPECT_EQ(r.select({segment(kNow - 500, 100, kNow - 2000), segment(kNow)}), 0u);
}

TEST(TimeRetention, EmptySegmentsFollowTheSameRule) {
  RetentionUnderTest r("time", "retention_ms = 1000");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  EXPECT_EQ(r.select({segment(-1, 0, kNow - 2000), segment(-1, 0, kNow - 2000), segment(kNow)}), 2u);
  EXPECT_EQ(r.select({segment(-1, 0, kNow - 10), segment(kNow)}), 0u);
}

TEST(TimeRetention, KeepsSegmentsOfUnknownAge) {
  RetentionUnderTest r("time", "retention_ms = 1000");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  EXPECT_EQ(r.select({segment(-1, 100, -1), segment(kNow)}), 0u);
}

TEST(TimeRetention, FollowsTheCallersClock) {
  RetentionUnderTest r("time", "retention_ms = 1000");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  const std::vector<keel_segment_info> segments = {segment(kNow), segment(kNow + 500), segment(kNow + 900)};
  EXPECT_EQ(r.select(segments, kNow + 1000), 0u);
  EXPECT_EQ(r.select(segments, kNow + 1001), 1u);
  EXPECT_EQ(r.select(segments, kNow + 1501), 2u);
}

TEST(TimeRetention, MinusOneKeepsForever) {
  RetentionUnderTest r("time", "retention_ms = -1");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  EXPECT_EQ(r.select({segment(0), segment(1), segment(kNow)}), 0u);
}

TEST(TimeRetention, RejectsInvalidRetentionMs) {
  for (const char* toml : {"retention_ms = -5", "retention_ms = 0"}) {
    RetentionUnderTest r("time", toml);
    EXPECT_EQ(r.status(), KEEL_ERR_INVALID_ARGUMENT) << toml;
    EXPECT_NE(r.message().find("retention_ms"), std::string::npos) << r.message();
  }
  RetentionUnderTest r("time", "retention_ms = -5");
  EXPECT_NE(r.message().find("got -5"), std::string::npos) << r.message();
}

TEST(TimeRetention, RejectsRetentionMsOfTheWrongType) {
  RetentionUnderTest r("time", "retention_ms = \"7d\"");
  EXPECT_EQ(r.status(), KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(r.message().find("retention_ms"), std::string::npos) << r.message();
  EXPECT_TRUE(mentions(r.problems(), "retention_ms"));
}

TEST(TimeRetention, ReadsItsKeyAndLeavesUnknownOnesReported) {
  RetentionUnderTest good("time", "retention_ms = 1000");
  ASSERT_EQ(good.status(), KEEL_OK) << good.message();
  EXPECT_TRUE(good.problems().empty());

  RetentionUnderTest typo("time", "retention_mss = 5");
  ASSERT_EQ(typo.status(), KEEL_OK) << typo.message();
  EXPECT_TRUE(mentions(typo.problems(), "retention_mss"));
}

// ------------------------------------------------------------------ size

TEST(SizeRetention, UnlimitedByDefault) {
  RetentionUnderTest r("size", "");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  EXPECT_EQ(r.select(sized({1LL << 40, 1LL << 40, 1LL << 40})), 0u);
}

TEST(SizeRetention, MinusOneIsUnlimited) {
  RetentionUnderTest r("size", "retention_bytes = -1");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  EXPECT_EQ(r.select(sized({100, 100, 100})), 0u);
}

TEST(SizeRetention, DeletesOldestWhileTheRestStaysAtOrAboveTheLimit) {
  RetentionUnderTest r("size", "retention_bytes = 250");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  // 400 total: dropping one leaves 300 >= 250; dropping two would leave 200.
  EXPECT_EQ(r.select(sized({100, 100, 100, 100})), 1u);
  // 500 total: two go, leaving exactly 300, then 200 would be too little.
  EXPECT_EQ(r.select(sized({100, 100, 100, 100, 100})), 2u);
}

// Rule 2 of keel/plugin.h: a broker of a later 2.x minor may pass larger
// elements; the plugin steps by segment_size and answers as before.
TEST(SizeRetention, StepsThroughSegmentsByTheBrokersElementSize) {
  RetentionUnderTest r("size", "retention_bytes = 250");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  EXPECT_EQ(r.select_from_newer_broker(sized({100, 100, 100, 100, 100}), 24), 2u);
}

TEST(TimeRetention, StepsThroughSegmentsByTheBrokersElementSize) {
  RetentionUnderTest r("time", "retention_ms = 1000");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  EXPECT_EQ(r.select_from_newer_broker({segment(kNow - 5000), segment(kNow - 4000), segment(kNow)}, 8), 2u);
}

TEST(SizeRetention, ExactBoundaries) {
  RetentionUnderTest r("size", "retention_bytes = 300");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  // Exactly at the limit: nothing is over it.
  EXPECT_EQ(r.select(sized({100, 100, 100})), 0u);
  // One byte over: the oldest segment alone is too big to remove.
  EXPECT_EQ(r.select(sized({100, 100, 101})), 0u);
  // Removing the oldest leaves exactly the limit: it goes.
  EXPECT_EQ(r.select(sized({100, 100, 100, 100})), 1u);
}

TEST(SizeRetention, StopsAtTheFirstSegmentThatMustStay) {
  RetentionUnderTest r("size", "retention_bytes = 500");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  // 555 total, 55 over: the 50-byte segment goes; the 100-byte one cannot,
  // and the 5-byte one after it stays too because only a prefix may go.
  EXPECT_EQ(r.select(sized({50, 100, 5, 400})), 1u);
  EXPECT_EQ(r.select(sized({100, 5, 450})), 0u);
  EXPECT_EQ(r.select(sized({10, 20, 600})), 2u);
}

TEST(SizeRetention, NeverSelectsTheActiveSegment) {
  RetentionUnderTest r("size", "retention_bytes = 0");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  EXPECT_EQ(r.select(sized({100, 100, 100})), 2u);
  EXPECT_EQ(r.select(sized({1000})), 0u);
  EXPECT_EQ(r.select({}), 0u);
}

TEST(SizeRetention, EmptySegmentsFollowTheSameRule) {
  RetentionUnderTest r("size", "retention_bytes = 100");
  ASSERT_EQ(r.status(), KEEL_OK) << r.message();
  EXPECT_EQ(r.select(sized({0, 0, 100})), 2u);
  EXPECT_EQ(r.select(sized({0, 0, 50})), 0u);
}

TEST(SizeRetention, RejectsInvalidRetentionBytes) {
  RetentionUnderTest r("size", "retention_bytes = -5");
  EXPECT_EQ(r.status(), KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(r.message().find("retention_bytes"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find("got -5"), std::string::npos) << r.message();
}

TEST(SizeRetention, ReadsItsKeyAndLeavesUnknownOnesReported) {
  RetentionUnderTest good("size", "retention_bytes = 1000");
  ASSERT_EQ(good.status(), KEEL_OK) << good.message();
  EXPECT_TRUE(good.problems().empty());

  RetentionUnderTest typo("size", "retention_byte = 5");
  ASSERT_EQ(typo.status(), KEEL_OK) << typo.message();
  EXPECT_TRUE(mentions(typo.problems(), "retention_byte"));
}

}  // namespace
