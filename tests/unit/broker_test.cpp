// The Broker end to end through the C API that transports use: produce with
// callbacks, fetch by file descriptor, topic administration, restarts on the
// same data directory, configuration errors at start-up, retention with a
// manual clock and durable consumer-group offsets.
#include "broker.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <keel/record_batch.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "config/config.hpp"
#include "support/batch_bytes.hpp"
#include "support/group_commit.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using keel::Broker;
using ::testing::HasSubstr;
namespace batch = keel::batch;

constexpr auto kDeadline = std::chrono::seconds(30);
constexpr int64_t kHour = 3'600'000;

std::string make_batch(int records, int64_t ts, const std::string& tag) {
  batch::Builder b(0);
  for (int i = 0; i < records; ++i) b.add("k" + std::to_string(i), tag + "/" + std::to_string(i), ts);
  return b.build();
}

using keel::test::bytes;

// The result of one produce call, delivered through the C callback.
struct Produced {
  keel_status status = KEEL_ERR_INTERNAL;
  int64_t base_offset = -2;
  int64_t log_start_offset = -2;
  std::string message;
  int64_t flushed_at_callback = -1;
  int calls = 0;
};

struct ProduceWait {
  std::mutex mu;
  std::condition_variable cv;
  Produced result;
  std::shared_ptr<keel::PartitionLog> log;  // to sample flushed_offset() in the callback
};

void on_produced(void* user, const keel_produce_result* r) {
  auto* w = static_cast<ProduceWait*>(user);
  std::lock_guard lock(w->mu);
  w->result.status = r->status;
  w->result.base_offset = r->base_offset;
  w->result.log_start_offset = r->log_start_offset;
  w->result.message = r->message ? r->message : "";
  if (w->log) w->result.flushed_at_callback = w->log->flushed_offset();
  ++w->result.calls;
  w->cv.notify_all();
}

class BrokerTest : public ::testing::Test {
 protected:
  std::string data_dir() const { return dir_.sub("data"); }

  // A config with topic `orders` (3 partitions, small segments, every-batch
  // flushing, key-hash) and `extra` appended to it.
  std::string config_text(bool auto_create = true, const std::string& extra = "") const {
    return "[broker]\n"
           "data_dir = \"" +
           data_dir() +
           "\"\n"
           "plugin_path = [\"" KEEL_TEST_PLUGIN_DIR
           "\"]\n"
           "auto_create_topics = " +
           (auto_create ? "true" : "false") +
           "\n"
           "retention_check_ms = 1000\n"
           "recovery_checkpoint_ms = 1000\n"
           "\n"
           "[topic_defaults]\n"
           "partitions = 2\n"
           "\n"
           "[topics.orders]\n"
           "partitions = 3\n"
           "segment_bytes = 1024\n"
           "flush_mode = \"every-batch\"\n"
           "index = [\"sparse-mmap\", \"timestamp\"]\n"
           "retention = [\"time\", \"size\"]\n"
           "partitioner = \"key-hash\"\n"
           "\n"
           "[topics.orders.plugins.time]\n"
           "retention_ms = 3600000\n" +
           extra;
  }

  std::unique_ptr<Broker> make_broker(const std::string& text) {
    return std::make_unique<Broker>(keel::parse_config(text, "test.toml"), &clock_);
  }

  void start(bool auto_create = true) {
    broker_ = make_broker(config_text(auto_create));
    broker_->start();
    api_ = broker_->api();
  }

  Produced produce(const std::string& topic, int32_t partition, const std::string& data,
                   int32_t acks = KEEL_ACKS_LEADER) {
    ProduceWait w;
    try {
      w.log = broker_->partition(topic, partition);
    } catch (const keel::Error&) {
      // Unknown yet (auto-create) or invalid: the produce reports it.
    }
    api_->produce(api_->ctx, topic.c_str(), partition, bytes(data), data.size(), acks, &on_produced, &w);
    std::unique_lock lock(w.mu);
    EXPECT_TRUE(w.cv.wait_for(lock, kDeadline, [&] { return w.result.calls > 0; })) << "no produce callback";
    return w.result;
  }

  // Fetches through the API and reads the bytes from the returned fd.
  std::string fetch(const std::string& topic, int32_t partition, int64_t offset, int64_t max_bytes = 1 << 20,
                    keel_status* status = nullptr, keel_fetch_result* meta = nullptr) {
    keel_fetch_result r{};
    r.struct_size = sizeof r;
    keel_error err{};
    keel_status s = api_->fetch(api_->ctx, topic.c_str(), partition, offset, max_bytes, &r, &err);
    if (status) *status = s;
    if (s != KEEL_OK) return std::string("error: ") + err.message;
    std::string out(static_cast<size_t>(r.length), '\0');
    if (r.length > 0) {
      EXPECT_EQ(::pread(r.fd, out.data(), out.size(), r.file_position), r.length);
    }
    if (meta) *meta = r;
    api_->release_fetch(api_->ctx, &r);
    EXPECT_EQ(r.pin, nullptr);
    return out;
  }

  keel_watermarks watermarks(const std::string& topic, int32_t partition) {
    keel_watermarks w{};
    w.struct_size = sizeof w;
    EXPECT_EQ(api_->watermarks(api_->ctx, topic.c_str(), partition, &w), KEEL_OK);
    return w;
  }

  std::vector<batch::Record> records_of(const std::string& data) {
    std::vector<batch::Record> out;
    size_t pos = 0;
    while (pos < data.size()) {
      auto h = batch::parse_header(bytes(data) + pos, data.size() - pos);
      if (!h) break;
      for (auto& r : batch::decode(bytes(data) + pos, data.size() - pos)) out.push_back(std::move(r));
      pos += h->total_size();
    }
    return out;
  }

  // The keel::Error that starting a broker with `text` throws.
  std::string start_error(const std::string& text, keel_status* status = nullptr) {
    auto b = make_broker(text);
    try {
      b->start();
    } catch (const keel::Error& e) {
      if (status) *status = e.code();
      return e.what();
    }
    ADD_FAILURE() << "start() succeeded";
    return "";
  }

  keel::test::TempDir dir_{"keel-broker"};
  keel::ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<Broker> broker_;
  const keel_broker_api* api_ = nullptr;
};

TEST_F(BrokerTest, ProduceAndFetchThroughTheApi) {
  start();
  EXPECT_EQ(api_->ready(api_->ctx), 1);
  int32_t partitions = 0;
  ASSERT_EQ(api_->describe_topic(
                api_->ctx, "orders",
                [](void* user, const keel_topic_info* info) {
                  *static_cast<int32_t*>(user) = info->partition_count;
                },
                &partitions),
            KEEL_OK);
  EXPECT_EQ(partitions, 3);

  for (int32_t p = 0; p < 3; ++p) {
    for (int i = 0; i < 3; ++i) {
      Produced r = produce("orders", p, make_batch(2, clock_.now_ms(), "p" + std::to_string(p)));
      ASSERT_EQ(r.status, KEEL_OK) << r.message;
      EXPECT_EQ(r.base_offset, 2 * i);
    }
  }
  for (int32_t p = 0; p < 3; ++p) {
    keel_fetch_result meta{};
    keel_status s = KEEL_ERR_INTERNAL;
    const std::string data = fetch("orders", p, 2, 1 << 20, &s, &meta);
    ASSERT_EQ(s, KEEL_OK);
    auto recs = records_of(data);
    ASSERT_EQ(recs.size(), 4u);  // the batch at 2 and the one at 4
    EXPECT_EQ(recs[0].offset, 2);
    EXPECT_EQ(recs[3].offset, 5);
    EXPECT_EQ(recs[3].value, "p" + std::to_string(p) + "/1");
    EXPECT_EQ(meta.log_start_offset, 0);
    EXPECT_EQ(meta.high_watermark, 6);
    EXPECT_EQ(meta.log_end_offset, 6);
    EXPECT_EQ(watermarks("orders", p).log_end_offset, 6);
    // At the end: nothing, not an error.
    EXPECT_EQ(fetch("orders", p, 6, 1 << 20, &s), "");
    EXPECT_EQ(s, KEEL_OK);
  }
  keel_status s = KEEL_OK;
  EXPECT_THAT(fetch("orders", 0, 7, 100, &s), HasSubstr("outside"));
  EXPECT_EQ(s, KEEL_ERR_OUT_OF_RANGE);
  fetch("orders", 3, 0, 100, &s);
  EXPECT_EQ(s, KEEL_ERR_NOT_FOUND);

  // Bad input comes back through the callback, naming the partition.
  std::string bad = make_batch(1, 1, "x");
  bad.back() ^= 1;
  Produced r = produce("orders", 1, bad);
  EXPECT_EQ(r.status, KEEL_ERR_CORRUPT);
  EXPECT_THAT(r.message, HasSubstr("orders-1"));
  EXPECT_EQ(r.calls, 1);
}

TEST_F(BrokerTest, KeyHashPartitionerAndTimeLookupThroughTheApi) {
  start();
  int32_t p1 = -1, p2 = -1;
  const std::string key = "customer-42";
  ASSERT_EQ(api_->choose_partition(api_->ctx, "orders", bytes(key), key.size(), &p1, nullptr), KEEL_OK);
  ASSERT_EQ(api_->choose_partition(api_->ctx, "orders", bytes(key), key.size(), &p2, nullptr), KEEL_OK);
  EXPECT_EQ(p1, p2);
  EXPECT_GE(p1, 0);
  EXPECT_LT(p1, 3);

  ASSERT_EQ(produce("orders", 0, make_batch(1, 5'000, "a")).status, KEEL_OK);
  ASSERT_EQ(produce("orders", 0, make_batch(1, 7'000, "b")).status, KEEL_OK);
  int64_t offset = -2, ts = -2;
  ASSERT_EQ(api_->offset_for_time(api_->ctx, "orders", 0, 6'000, &offset, &ts), KEEL_OK);
  EXPECT_EQ(offset, 1);
  EXPECT_EQ(ts, 7'000);
  ASSERT_EQ(api_->offset_for_time(api_->ctx, "orders", 0, 8'000, &offset, &ts), KEEL_OK);
  EXPECT_EQ(offset, -1);
}

TEST_F(BrokerTest, WatchThroughTheApiFiresOnProduce) {
  start();
  struct Fired {
    std::mutex mu;
    std::condition_variable cv;
    int count = 0;
  } fired;
  auto cb = [](void* user) {
    auto* f = static_cast<Fired*>(user);
    std::lock_guard lock(f->mu);
    ++f->count;
    f->cv.notify_all();
  };
  keel_watch* w = nullptr;
  keel_watch* cancelled = nullptr;
  Fired never;
  ASSERT_EQ(api_->watch(api_->ctx, "orders", 2, 0, cb, &fired, &w), KEEL_OK);
  ASSERT_EQ(api_->watch(api_->ctx, "orders", 2, 0, cb, &never, &cancelled), KEEL_OK);
  api_->unwatch(api_->ctx, cancelled);
  ASSERT_EQ(produce("orders", 2, make_batch(1, 1, "w")).status, KEEL_OK);
  {
    std::unique_lock lock(fired.mu);
    EXPECT_TRUE(fired.cv.wait_for(lock, kDeadline, [&] { return fired.count > 0; }));
  }
  api_->unwatch(api_->ctx, w);
  EXPECT_EQ(fired.count, 1);
  EXPECT_EQ(never.count, 0);
}

TEST_F(BrokerTest, AcksAllAnswersOnceTheDataIsFlushed) {
  start();
  for (int i = 0; i < 5; ++i) {
    Produced r = produce("orders", 1, make_batch(3, 1, "d"), KEEL_ACKS_ALL);
    ASSERT_EQ(r.status, KEEL_OK) << r.message;
    EXPECT_EQ(r.base_offset, 3 * i);
    EXPECT_GE(r.flushed_at_callback, r.base_offset + 3);
  }
  EXPECT_EQ(broker_->partition("orders", 1)->flushed_offset(), 15);
}

TEST_F(BrokerTest, RestartKeepsTheDataAndUsesTheCleanMarker) {
  const std::string marker = data_dir() + "/.clean-shutdown";
  start();
  std::vector<std::string> before;
  for (int i = 0; i < 60; ++i) {
    ASSERT_EQ(produce("orders", i % 3, make_batch(2, 1000 + i, "r" + std::to_string(i))).status, KEEL_OK);
  }
  // Reads never span segments: one fetch from the start, one from the end.
  for (int32_t p = 0; p < 3; ++p) before.push_back(fetch("orders", p, 0) + fetch("orders", p, 39));
  EXPECT_GT(broker_->partition("orders", 0)->segment_count(), 1u);
  EXPECT_FALSE(fs::exists(marker));  // removed while running
  broker_->stop();
  EXPECT_TRUE(fs::exists(marker));
  broker_.reset();

  start();
  EXPECT_FALSE(fs::exists(marker));
  for (int32_t p = 0; p < 3; ++p) {
    EXPECT_EQ(fetch("orders", p, 0) + fetch("orders", p, 39), before[p]) << p;
    EXPECT_EQ(watermarks("orders", p).log_end_offset, 40) << p;
  }
  EXPECT_EQ(produce("orders", 0, make_batch(1, 1, "after")).base_offset, 40);
}

TEST_F(BrokerTest, RestartAfterACrashRecoversTheTail) {
  start();
  for (int i = 0; i < 4; ++i) ASSERT_EQ(produce("orders", 0, make_batch(2, 1, "c")).status, KEEL_OK);
  const std::string log = broker_->partition("orders", 0)->read(6, 1).segment->path();
  broker_->stop();
  broker_.reset();
  // A crash before any recovery checkpoint: no clean marker, nothing known
  // to be flushed, and the last batch half written. (With a checkpoint
  // covering it, the cut batch would be damage, quarantined, not cut.)
  fs::remove(data_dir() + "/.clean-shutdown");
  fs::remove(data_dir() + "/recovery-points");
  fs::resize_file(log, fs::file_size(log) - 10);
  start();
  EXPECT_EQ(watermarks("orders", 0).log_end_offset, 6);
  EXPECT_EQ(produce("orders", 0, make_batch(1, 1, "n")).base_offset, 6);
}

TEST_F(BrokerTest, UnknownTopicIsCreatedOnlyWhenAllowed) {
  start(/*auto_create=*/true);
  EXPECT_EQ(api_->auto_create_topics(api_->ctx), 1);
  Produced r = produce("fresh", 1, make_batch(1, 1, "f"));
  ASSERT_EQ(r.status, KEEL_OK) << r.message;
  ASSERT_NE(broker_->find_topic("fresh"), nullptr);
  EXPECT_EQ(broker_->find_topic("fresh")->partition_count(), 2);  // topic_defaults
  EXPECT_TRUE(fs::exists(data_dir() + "/fresh-1"));
  broker_.reset();

  start(/*auto_create=*/false);
  EXPECT_EQ(api_->auto_create_topics(api_->ctx), 0);
  ASSERT_NE(broker_->find_topic("fresh"), nullptr);  // found on disk
  r = produce("unheard-of", 0, make_batch(1, 1, "u"));
  EXPECT_EQ(r.status, KEEL_ERR_NOT_FOUND);
  EXPECT_THAT(r.message, HasSubstr("'unheard-of'"));
  EXPECT_THAT(r.message, HasSubstr("auto_create_topics"));
  EXPECT_EQ(broker_->find_topic("unheard-of"), nullptr);
  EXPECT_FALSE(fs::exists(data_dir() + "/unheard-of-0"));
}

TEST_F(BrokerTest, CreateDeleteAndRecreateATopicThroughTheApi) {
  start();
  keel_error err{};
  keel_create_topic_args args{.struct_size = sizeof(keel_create_topic_args),
                              .partitions = 4,
                              .name = "payments",
                              .settings_toml = nullptr};
  ASSERT_EQ(api_->create_topic(api_->ctx, &args, &err), KEEL_OK) << err.message;
  EXPECT_EQ(api_->create_topic(api_->ctx, &args, &err), KEEL_ERR_ALREADY_EXISTS);
  EXPECT_THAT(err.message, HasSubstr("payments"));

  std::vector<std::string> names;
  api_->list_topics(
      api_->ctx,
      [](void* user, const keel_topic_info* t) {
        static_cast<std::vector<std::string>*>(user)->push_back(std::string(t->name) +
                                                                (t->internal ? " (internal)" : ""));
      },
      &names);
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("orders", "payments", "__consumer_offsets (internal)"));

  for (int i = 0; i < 3; ++i) ASSERT_EQ(produce("payments", 3, make_batch(2, 1, "pay")).status, KEEL_OK);
  EXPECT_EQ(watermarks("payments", 3).log_end_offset, 6);

  ASSERT_EQ(api_->delete_topic(api_->ctx, "payments", &err), KEEL_OK) << err.message;
  int32_t count = -1;
  auto describe = [](void* user, const keel_topic_info* t) {
    *static_cast<int32_t*>(user) = t->partition_count;
  };
  EXPECT_EQ(api_->describe_topic(api_->ctx, "payments", describe, &count), KEEL_ERR_NOT_FOUND);
  for (int p = 0; p < 4; ++p) EXPECT_FALSE(fs::exists(data_dir() + "/payments-" + std::to_string(p)));
  EXPECT_EQ(api_->delete_topic(api_->ctx, "payments", &err), KEEL_ERR_NOT_FOUND);

  // The same name again starts empty.
  args.partitions = 0;  // the default
  ASSERT_EQ(api_->create_topic(api_->ctx, &args, &err), KEEL_OK) << err.message;
  ASSERT_EQ(api_->describe_topic(api_->ctx, "payments", describe, &count), KEEL_OK);
  EXPECT_EQ(count, 2);
  EXPECT_EQ(watermarks("payments", 1).log_end_offset, 0);
  keel_status s = KEEL_ERR_INTERNAL;
  EXPECT_EQ(fetch("payments", 1, 0, 100, &s), "");
  EXPECT_EQ(s, KEEL_OK);
  EXPECT_EQ(produce("payments", 1, make_batch(1, 1, "again")).base_offset, 0);

  keel_create_topic_args bad{.struct_size = sizeof(keel_create_topic_args),
                             .partitions = 1,
                             .name = "no/slashes",
                             .settings_toml = nullptr};
  EXPECT_EQ(api_->create_topic(api_->ctx, &bad, &err), KEEL_ERR_INVALID_NAME);
  EXPECT_THAT(err.message, HasSubstr("no/slashes"));
}

TEST_F(BrokerTest, UnknownPluginSettingFailsStartWithFileAndLine) {
  std::string text = config_text();
  // The key sits on the line after the table header.
  const std::string header = "[topics.orders.plugins.time]\n";
  const size_t at = text.find(header) + header.size();
  text.insert(at, "retention_mss = 1\n");
  const int line =
      static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n')) + 1;
  keel_status status = KEEL_OK;
  const std::string msg = start_error(text, &status);
  EXPECT_EQ(status, KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(msg, HasSubstr("'retention_mss'"));
  EXPECT_THAT(msg, HasSubstr("test.toml:" + std::to_string(line)));
  EXPECT_THAT(msg, HasSubstr("orders"));
}

TEST_F(BrokerTest, UnknownStrategyFailsStartNamingItAndThePluginPath) {
  std::string text = config_text();
  const std::string from = "index = [\"sparse-mmap\", \"timestamp\"]";
  text.replace(text.find(from), from.size(), "index = [\"sparse-mmap\", \"btree\"]");
  keel_status status = KEEL_OK;
  const std::string msg = start_error(text, &status);
  EXPECT_EQ(status, KEEL_ERR_INVALID_ARGUMENT);  // a ConfigError, found before the data dir is touched
  EXPECT_THAT(msg, HasSubstr("'btree'"));
  EXPECT_THAT(msg, HasSubstr("keel-index-btree.so"));
  EXPECT_THAT(msg, HasSubstr(KEEL_TEST_PLUGIN_DIR));
  EXPECT_THAT(msg, HasSubstr("available index strategies: sparse-mmap, timestamp"));
}

TEST_F(BrokerTest, CheckConfigListsEveryProblemAndTouchesNothing) {
  auto broker = make_broker(
      config_text(true,
                  "\n[topics.later]\nretention = [\"time\", \"sise\"]\npartitioner = \"roundrobin\"\n"
                  "[topics.bad]\n[topics.bad.plugins.time]\nretention_ms = \"soon\"\n"));
  const keel::ConfigCheck check = broker->check_config();
  ASSERT_EQ(check.problems.size(), 2u) << check.report(broker->config());
  // `later` stops at its first unknown strategy (retention comes first).
  EXPECT_THAT(check.problems[0],
              HasSubstr("test.toml:23:22: topic 'later': unknown retention strategy 'sise'; "
                        "did you mean 'size'?"));
  EXPECT_THAT(check.problems[1],
              HasSubstr("key 'retention_ms' in [topics.bad.plugins.time] (test.toml:27:16)"));
  EXPECT_EQ(check.topics, std::vector<std::string>{"orders (3 partitions)"});
  EXPECT_FALSE(fs::exists(data_dir())) << "the check must not create the data dir";
  EXPECT_THAT(check.report(broker->config()), HasSubstr("configuration of test.toml has 2 problems:\n  - "));

  // start() runs the same check first and refuses before touching the disk.
  keel_status status = KEEL_OK;
  try {
    broker->start();
    ADD_FAILURE() << "start() succeeded";
  } catch (const keel::ConfigError& e) {
    status = e.code();
  }
  EXPECT_EQ(status, KEEL_ERR_INVALID_ARGUMENT);
  broker.reset();
  EXPECT_FALSE(fs::exists(data_dir())) << "a refused start must not create the data dir";
}

TEST_F(BrokerTest, CheckConfigOfAGoodConfigSummarisesIt) {
  auto broker = make_broker(config_text());
  const keel::ConfigCheck check = broker->check_config();
  EXPECT_TRUE(check.ok()) << check.report(broker->config());
  EXPECT_THAT(check.report(broker->config()),
              ::testing::StartsWith("configuration OK: 1 topic, no transports\n"));
  EXPECT_FALSE(fs::exists(data_dir()));
}

TEST_F(BrokerTest, FailedStartDoesNotMarkTheDataClean) {
  start();
  ASSERT_EQ(produce("orders", 0, make_batch(1, 1, "x")).status, KEEL_OK);
  broker_.reset();
  const std::string marker = data_dir() + "/.clean-shutdown";
  ASSERT_TRUE(fs::exists(marker));
  fs::remove(marker);  // as after a crash

  // A second topic with a typo: `orders` opens (and is verified), then
  // start-up fails.
  start_error(config_text(
      true, "\n[topics.later]\nretention = [\"time\"]\n[topics.later.plugins.time]\nretention_mss = 5\n"));
  EXPECT_FALSE(fs::exists(marker)) << "a failed start must leave the next start verifying the logs";
}

TEST_F(BrokerTest, SecondBrokerOnTheSameDataDirIsRefused) {
  start();
  keel_status status = KEEL_OK;
  const std::string msg = start_error(config_text(), &status);
  EXPECT_EQ(status, KEEL_ERR_UNAVAILABLE);
  EXPECT_THAT(msg, HasSubstr(data_dir()));
  EXPECT_THAT(msg, HasSubstr("in use"));
  // The first broker is unaffected, and once it stops the dir is free.
  EXPECT_EQ(produce("orders", 0, make_batch(1, 1, "still")).status, KEEL_OK);
  broker_.reset();
  start();
  EXPECT_EQ(watermarks("orders", 0).log_end_offset, 1);
}

TEST_F(BrokerTest, RetentionDeletesOldSegmentsWithTheManualClock) {
  start();
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(produce("orders", 0, make_batch(2, clock_.now_ms(), "old" + std::to_string(i))).status,
              KEEL_OK);
  }
  auto log = broker_->partition("orders", 0);
  const size_t segments = log->segment_count();
  ASSERT_GE(segments, 3u);
  const int64_t active_base = log->segment_infos().back().base_offset;

  broker_->run_maintenance();  // nothing is old yet
  EXPECT_EQ(log->segment_count(), segments);
  EXPECT_EQ(log->log_start_offset(), 0);

  clock_.advance(kHour - 1);
  broker_->run_maintenance();
  EXPECT_EQ(log->segment_count(), segments);

  clock_.advance(2000);
  broker_->run_maintenance();
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_EQ(log->log_start_offset(), active_base);
  EXPECT_EQ(log->log_end_offset(), 80);
  EXPECT_EQ(watermarks("orders", 0).log_start_offset, active_base);
  keel_status s = KEEL_OK;
  fetch("orders", 0, 0, 100, &s);
  EXPECT_EQ(s, KEEL_ERR_OUT_OF_RANGE);
  EXPECT_FALSE(fs::exists(data_dir() + "/orders-0/" + keel::Segment::file_name(0) + ".log"));
  const Produced fresh = produce("orders", 0, make_batch(1, clock_.now_ms(), "new"));
  EXPECT_EQ(fresh.base_offset, 80);
  EXPECT_EQ(fresh.log_start_offset, active_base);  // Kafka's produce answer carries it (v5+)

  // The new start survives a restart.
  broker_.reset();
  start();
  EXPECT_EQ(watermarks("orders", 0).log_start_offset, active_base);
  EXPECT_EQ(watermarks("orders", 0).log_end_offset, 81);
}

TEST_F(BrokerTest, CommittedOffsetsSurviveARestart) {
  start();
  for (const auto& [group, c] : std::vector<std::pair<std::string, keel_offset_commit>>{
           {"billing", keel::test::offset_commit("orders", 2, 17, "meta-17")},
           {"billing", keel::test::offset_commit("orders", 2, 21, "meta-21")},
           {"audit", keel::test::offset_commit("orders", 0, 3, nullptr)}}) {
    const keel::test::CommitOutcome r = keel::test::commit_offsets(api_, group, {c});
    ASSERT_EQ(r.status, KEEL_OK) << r.message;
  }
  broker_.reset();

  start();
  auto take = [](void* user, const char* v) { *static_cast<std::string*>(user) = v; };
  int64_t offset = -2;
  std::string meta;
  ASSERT_EQ(api_->fetch_offset(api_->ctx, "billing", "orders", 2, &offset, take, &meta), KEEL_OK);
  EXPECT_EQ(offset, 21);
  EXPECT_EQ(meta, "meta-21");
  ASSERT_EQ(api_->fetch_offset(api_->ctx, "audit", "orders", 0, &offset, take, &meta), KEEL_OK);
  EXPECT_EQ(offset, 3);
  EXPECT_EQ(meta, "");
  ASSERT_EQ(api_->fetch_offset(api_->ctx, "billing", "orders", 1, &offset, take, &meta), KEEL_OK);
  EXPECT_EQ(offset, -1);

  std::vector<std::string> groups;
  api_->list_groups(
      api_->ctx,
      [](void* user, const char* g) { static_cast<std::vector<std::string>*>(user)->push_back(g); }, &groups);
  EXPECT_THAT(groups, ::testing::UnorderedElementsAre("audit", "billing"));
}

}  // namespace

// Leader epochs on a single node: every batch on disk carries epoch 0,
// whatever the producer put there, produced ones and the group commits in
// __consumer_offsets alike; OffsetForLeaderEpoch answers through the API.
TEST_F(BrokerTest, BatchesOnDiskCarryTheLeaderEpoch) {
  start();
  batch::Builder b(0);
  b.partition_leader_epoch(9);  // a client's value: the broker's wins
  b.add("k", "v", 1'000);
  const std::string data = b.build();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(produce("orders", 1, data).status, KEEL_OK);
  const keel::test::CommitOutcome c =
      keel::test::commit_offsets(api_, "stamps", {keel::test::offset_commit("orders", 1, 2, nullptr)});
  ASSERT_EQ(c.status, KEEL_OK) << c.message;
  broker_.reset();  // the commit reaches __consumer_offsets by now

  start();
  const auto epochs_of = [&](const std::shared_ptr<keel::PartitionLog>& log) {
    std::vector<int32_t> out;
    log->for_each_batch([&](const uint8_t* p, size_t len) {
      out.push_back(batch::parse_header(p, len)->partition_leader_epoch);
      return true;
    });
    return out;
  };
  EXPECT_EQ(epochs_of(broker_->partition("orders", 1)), (std::vector<int32_t>{0, 0, 0}));
  size_t offsets_batches = 0;
  for (const auto& t : broker_->topics()) {
    if (t->name() != "__consumer_offsets") continue;
    for (int32_t p = 0; p < t->partition_count(); ++p) {
      for (int32_t e : epochs_of(t->partition(p))) {
        EXPECT_EQ(e, 0);
        ++offsets_batches;
      }
    }
  }
  EXPECT_GT(offsets_batches, 0u);

  int32_t end_epoch = -2;
  int64_t end_offset = -2;
  keel_error err{};
  ASSERT_EQ(api_->offset_for_leader_epoch(api_->ctx, "orders", 1, 0, &end_epoch, &end_offset, &err), KEEL_OK);
  EXPECT_EQ(end_epoch, 0);
  EXPECT_EQ(end_offset, 3);
  ASSERT_EQ(api_->offset_for_leader_epoch(api_->ctx, "orders", 1, 1, &end_epoch, &end_offset, &err), KEEL_OK);
  EXPECT_EQ(end_epoch, -1);
  EXPECT_EQ(end_offset, -1);
  // An empty partition: this leader's epoch 0 starts at its end.
  ASSERT_EQ(api_->offset_for_leader_epoch(api_->ctx, "orders", 2, 0, &end_epoch, &end_offset, &err), KEEL_OK);
  EXPECT_EQ(end_epoch, 0);
  EXPECT_EQ(end_offset, 0);
  EXPECT_EQ(api_->offset_for_leader_epoch(api_->ctx, "orders", 7, 0, &end_epoch, &end_offset, &err),
            KEEL_ERR_NOT_FOUND);
  EXPECT_EQ(api_->offset_for_leader_epoch(api_->ctx, "nope", 0, 0, &end_epoch, &end_offset, &err),
            KEEL_ERR_NOT_FOUND);
}
