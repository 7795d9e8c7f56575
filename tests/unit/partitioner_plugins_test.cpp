// The built-in partitioner plugins `round-robin` and `key-hash`, loaded from
// their built libraries and driven through the C ABI as the broker drives them.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../../plugins/partitioner/key-hash/murmur2.hpp"
#include "support/plugin_fixture.hpp"

namespace {

using keel::test::LoadedPlugin;
using keel::test::TestConfig;
using keel::test::TestHost;

// One partitioner instance created through the plugin's vtable.
class PartitionerUnderTest {
 public:
  explicit PartitionerUnderTest(const std::string& name, const std::string& toml = "")
      : plugin_("partitioner", name), config_(toml) {
    vt_ = plugin_.vtable<keel_partitioner_vtable>();
    keel_error err{};
    status_ = vt_->create(host_.get(), config_.get(), &instance_, &err);
    message_ = err.message;
  }
  ~PartitionerUnderTest() {
    if (instance_ != nullptr) vt_->destroy(instance_);
  }
  PartitionerUnderTest(const PartitionerUnderTest&) = delete;
  PartitionerUnderTest& operator=(const PartitionerUnderTest&) = delete;

  keel_status status() const { return status_; }
  const std::string& message() const { return message_; }
  std::vector<std::string> problems() const { return config_.problems(); }

  keel_status try_partition(std::optional<std::string_view> key, int32_t count, int32_t* out) {
    const auto* bytes = key ? reinterpret_cast<const uint8_t*>(key->data()) : nullptr;
    // An empty key must still arrive as a non-null pointer.
    static const uint8_t kEmpty = 0;
    if (key && key->empty()) bytes = &kEmpty;
    keel_error err{};
    const keel_status s = vt_->partition(instance_, bytes, key ? key->size() : 0, count, out, &err);
    message_ = err.message;
    return s;
  }
  int32_t partition(std::optional<std::string_view> key, int32_t count) {
    int32_t out = -1;
    EXPECT_EQ(try_partition(key, count, &out), KEEL_OK);
    return out;
  }

 private:
  LoadedPlugin plugin_;
  TestHost host_;
  TestConfig config_;
  const keel_partitioner_vtable* vt_ = nullptr;
  keel_partitioner* instance_ = nullptr;
  keel_status status_ = KEEL_ERR_INTERNAL;
  std::string message_;
};

// Published murmur2 results: Kafka's UtilsTest.testMurmur2 (signed Java ints)
// and librdkafka's rdmurmur2.c unittest (which checks Java's values).
struct Vector {
  std::string_view key;
  int32_t hash;
};
constexpr Vector kKafkaVectors[] = {
    {"21", -973932308},
    {"foobar", -790332482},
    {"a-little-bit-long-string", -985981536},
    {"a-little-bit-longer-string", -1486304829},
    {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
    {"abc", 479470107},
    {"kafka", static_cast<int32_t>(0xd067cf64)},
    {"giberish123456789", static_cast<int32_t>(0x8f552b0c)},
    {"1234", static_cast<int32_t>(0x9fc97b14)},
    {"234", static_cast<int32_t>(0xe7c009ca)},
    {"34", static_cast<int32_t>(0x873930da)},
    {"4", static_cast<int32_t>(0x5a4b5ca1)},
    {"PreAmbleWillBeRemoved,ThePrePartThatIs", static_cast<int32_t>(0x78424f1c)},
    {"reAmbleWillBeRemoved,ThePrePartThatIs", static_cast<int32_t>(0x4a62b377)},
    {"eAmbleWillBeRemoved,ThePrePartThatIs", static_cast<int32_t>(0xe0e4e09e)},
    {"AmbleWillBeRemoved,ThePrePartThatIs", static_cast<int32_t>(0x62b8b43f)},
    {"", static_cast<int32_t>(0x106e08d9)},
};

// ----------------------------------------------------------- round-robin

TEST(RoundRobinPartitioner, CyclesThroughPartitionsInTurn) {
  PartitionerUnderTest p("round-robin");
  ASSERT_EQ(p.status(), KEEL_OK) << p.message();
  std::vector<int32_t> got;
  for (int i = 0; i < 7; ++i) got.push_back(p.partition("same-key", 3));
  const int32_t first = got[0];
  for (int i = 0; i < 7; ++i) EXPECT_EQ(got[i], (first + i) % 3) << "record " << i;
}

TEST(RoundRobinPartitioner, IgnoresKeysAndNullKeysAlike) {
  PartitionerUnderTest p("round-robin");
  ASSERT_EQ(p.status(), KEEL_OK) << p.message();
  std::vector<int> hits(4, 0);
  for (int i = 0; i < 400; ++i) {
    std::optional<std::string_view> key;
    if (i % 3 == 1) key = "k";
    if (i % 3 == 2) key = "";
    ++hits[p.partition(key, 4)];
  }
  for (int h : hits) EXPECT_EQ(h, 100);
}

TEST(RoundRobinPartitioner, StaysEvenAcrossThreads) {
  PartitionerUnderTest p("round-robin");
  ASSERT_EQ(p.status(), KEEL_OK) << p.message();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 3000;
  constexpr int32_t kPartitions = 6;
  std::vector<std::vector<int>> hits(kThreads, std::vector<int>(kPartitions, 0));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int32_t out = -1;
        if (p.try_partition(std::nullopt, kPartitions, &out) == KEEL_OK && out >= 0 && out < kPartitions) {
          ++hits[t][out];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  // A shared counter hands out each value once, so the totals are exact.
  for (int32_t part = 0; part < kPartitions; ++part) {
    int total = 0;
    for (int t = 0; t < kThreads; ++t) total += hits[t][part];
    EXPECT_EQ(total, kThreads * kPerThread / kPartitions) << "partition " << part;
  }
}

TEST(RoundRobinPartitioner, RejectsNonPositivePartitionCount) {
  PartitionerUnderTest p("round-robin");
  ASSERT_EQ(p.status(), KEEL_OK) << p.message();
  int32_t out = 42;
  EXPECT_EQ(p.try_partition("k", 0, &out), KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(p.try_partition(std::nullopt, -3, &out), KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(out, 42);
}

TEST(RoundRobinPartitioner, ReportsUnknownSettings) {
  PartitionerUnderTest p("round-robin", "sticky = true");
  ASSERT_EQ(p.status(), KEEL_OK) << p.message();
  ASSERT_EQ(p.problems().size(), 1u);
  EXPECT_NE(p.problems()[0].find("sticky"), std::string::npos);
}

// -------------------------------------------------------------- key-hash

TEST(KeyHashPartitioner, Murmur2MatchesPublishedKafkaVectors) {
  for (const auto& v : kKafkaVectors) {
    EXPECT_EQ(static_cast<int32_t>(keel::keyhash::murmur2(v.key)), v.hash) << "key \"" << v.key << "\"";
  }
}

TEST(KeyHashPartitioner, PlacesKeysAsKafkaDoes) {
  PartitionerUnderTest p("key-hash");
  ASSERT_EQ(p.status(), KEEL_OK) << p.message();
  // With INT32_MAX partitions the answer is toPositive(murmur2(key)) itself.
  for (const auto& v : kKafkaVectors) {
    EXPECT_EQ(p.partition(v.key, std::numeric_limits<int32_t>::max()), v.hash & 0x7fffffff)
        << "key \"" << v.key << "\"";
  }
  // toPositive(murmur2(key)) % n, worked out from the vectors above.
  EXPECT_EQ(p.partition("kafka", 3), 1);  // 1348980580
  EXPECT_EQ(p.partition("kafka", 6), 4);
  EXPECT_EQ(p.partition("abc", 3), 0);  // 479470107
  EXPECT_EQ(p.partition("abc", 6), 3);
  EXPECT_EQ(p.partition("a-little-bit-longer-string", 3), 2);  // 661178819
  EXPECT_EQ(p.partition("a-little-bit-longer-string", 6), 5);
  EXPECT_EQ(p.partition("4", 3), 1);  // 1514888353
  EXPECT_EQ(p.partition("4", 6), 1);
  EXPECT_EQ(p.partition("", 3), 0);  // 275646681
  EXPECT_EQ(p.partition("", 6), 3);
}

TEST(KeyHashPartitioner, SameKeyAlwaysSamePartition) {
  PartitionerUnderTest p("key-hash");
  ASSERT_EQ(p.status(), KEEL_OK) << p.message();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p.partition("giberish123456789", 6), 2);
}

TEST(KeyHashPartitioner, EmptyKeyIsHashedNotTreatedAsNull) {
  PartitionerUnderTest p("key-hash");
  ASSERT_EQ(p.status(), KEEL_OK) << p.message();
  // murmur2("") % 6 == 3 every time; a null key would move on in turn.
  for (int i = 0; i < 6; ++i) EXPECT_EQ(p.partition("", 6), 3);
}

TEST(KeyHashPartitioner, NullKeysGoRoundRobin) {
  PartitionerUnderTest p("key-hash");
  ASSERT_EQ(p.status(), KEEL_OK) << p.message();
  const int32_t first = p.partition(std::nullopt, 3);
  std::vector<int> hits(3, 0);
  ++hits[first];
  for (int i = 1; i < 300; ++i) {
    const int32_t got = p.partition(std::nullopt, 3);
    EXPECT_EQ(got, (first + i) % 3) << "record " << i;
    ++hits[got];
    // Keyed records in between do not disturb the null-key cycle's evenness.
    EXPECT_EQ(p.partition("kafka", 3), 1);
  }
  for (int h : hits) EXPECT_EQ(h, 100);
}

TEST(KeyHashPartitioner, RejectsNonPositivePartitionCount) {
  PartitionerUnderTest p("key-hash");
  ASSERT_EQ(p.status(), KEEL_OK) << p.message();
  int32_t out = 42;
  EXPECT_EQ(p.try_partition("kafka", 0, &out), KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(p.try_partition(std::nullopt, -1, &out), KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(out, 42);
}

TEST(KeyHashPartitioner, ReportsUnknownSettings) {
  PartitionerUnderTest p("key-hash", "hash = \"crc32\"");
  ASSERT_EQ(p.status(), KEEL_OK) << p.message();
  ASSERT_EQ(p.problems().size(), 1u);
  EXPECT_NE(p.problems()[0].find("hash"), std::string::npos);
}

}  // namespace
