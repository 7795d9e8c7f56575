#include "produce.hpp"

#include <sys/prctl.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "client.hpp"
#include "histogram.hpp"

namespace keel::load {

namespace {

// Everything the delivery-report callback touches. Only the poller thread
// calls rd_kafka_poll(), so callbacks never run concurrently; the main thread
// reads the fields after joining it.
struct Deliveries {
  int64_t warmup = 0;
  int64_t reports = 0;             // acknowledged + failed, in report order
  std::atomic<int64_t> failed{0};  // read by the sender, which stops at the first failure
  std::map<rd_kafka_resp_err_t, int64_t> failures;
  LatencyHistogram latency_ns;  // measured messages only
  int64_t measured = 0;
  uint64_t window_start_ns = 0;  // the warm-up's last report (or the first send without warm-up)
  uint64_t last_ns = 0;
  double window_start_cpu = 0;
  std::atomic<bool> fatal{false};
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto& d = *static_cast<Deliveries*>(opaque);
  const uint64_t now = monotonic_ns();
  ++d.reports;
  if (d.reports == d.warmup) {
    d.window_start_ns = now;
    d.window_start_cpu = cpu_seconds();
  }
  if (m->err) {
    if (d.failures[m->err]++ == 0) {
      fprintf(stderr, "keel-load: delivery failed: %s (further failures of this kind are only counted)\n",
              rd_kafka_err2str(m->err));
    }
    ++d.failed;
    return;
  }
  if (d.reports <= d.warmup) return;
  // The opaque carries the send time itself: no per-message allocation.
  const auto sent = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(m->_private));
  d.latency_ns.record(now > sent ? now - sent : 0);
  ++d.measured;
  d.last_ns = now;
}

void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto& d = *static_cast<Deliveries*>(opaque);
  fprintf(stderr, "keel-load: client error: %s: %s\n",
          rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char why[512];
    rd_kafka_fatal_error(rk, why, sizeof why);
    fprintf(stderr, "keel-load: fatal: %s\n", why);
    d.fatal = true;
  }
}

// Distinct, moderately compressible payloads (alphanumerics), taken at
// varying offsets of one buffer so compression cannot exploit identical
// messages and librdkafka never copies.
std::vector<char> make_payload_pool(int64_t size) {
  std::vector<char> pool(static_cast<size_t>(size) + (1 << 20));
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::mt19937_64 rng(42);
  for (auto& c : pool) c = kAlphabet[rng() % (sizeof kAlphabet - 1)];
  return pool;
}

void sleep_until_ns(uint64_t when) {
  const timespec ts{static_cast<time_t>(when / 1000000000), static_cast<long>(when % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

// Serves delivery reports the moment librdkafka queues them, so the
// acknowledgement time is not delayed until the sender next polls.
class Poller {
 public:
  explicit Poller(rd_kafka_t* rk)
      : thread_([this, rk] {
          while (!stop_.load(std::memory_order_relaxed)) rd_kafka_poll(rk, 100);
          rd_kafka_poll(rk, 0);
        }) {}
  ~Poller() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string config_value(rd_kafka_conf_t* conf, const char* key) {
  char buf[256];
  size_t size = sizeof buf;
  return rd_kafka_conf_get(conf, key, buf, &size) == RD_KAFKA_CONF_OK ? std::string(buf) : std::string("?");
}

}  // namespace

int run_produce(const Options& o) {
  std::vector<std::pair<std::string, std::string>> settings = {
      {"bootstrap.servers", o.brokers},
      {"acks", o.acks},
      {"compression.type", o.compression},
      {"message.timeout.ms", std::to_string(o.timeout_ms)},
  };
  if (o.linger_ms >= 0) settings.emplace_back("linger.ms", std::to_string(o.linger_ms));
  if (o.batch_size > 0) settings.emplace_back("batch.size", std::to_string(o.batch_size));
  if (o.inflight > 0)
    settings.emplace_back("max.in.flight.requests.per.connection", std::to_string(o.inflight));
  if (o.idempotent) settings.emplace_back("enable.idempotence", "true");
  settings.insert(settings.end(), o.client_config.begin(), o.client_config.end());

  Deliveries d;
  d.warmup = o.warmup;
  rd_kafka_conf_t* conf = make_conf(settings);
  const std::string queue_max = config_value(conf, "queue.buffering.max.messages");
  const std::string linger = config_value(conf, "linger.ms");
  const std::string batch_size = config_value(conf, "batch.size");
  const std::string inflight = config_value(conf, "max.in.flight.requests.per.connection");
  rd_kafka_conf_set_opaque(conf, &d);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_error_cb(conf, on_error);
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, conf);

  int exit_status = 0;
  try {
    // Connect and learn the leader before the clock starts.
    const int32_t known_partitions = partition_count(rk, o.topic, o.timeout_ms);
    if (o.partitions > known_partitions) {
      throw std::runtime_error("--partitions " + std::to_string(o.partitions) + " but topic '" + o.topic +
                               "' has " + std::to_string(known_partitions));
    }
    const std::unique_ptr<rd_kafka_topic_t, decltype(&rd_kafka_topic_destroy)> topic(
        rd_kafka_topic_new(rk, o.topic.c_str(), nullptr), rd_kafka_topic_destroy);
    rd_kafka_topic_t* rkt = topic.get();
    const std::vector<char> pool = make_payload_pool(o.size);
    const size_t pool_span = pool.size() - static_cast<size_t>(o.size);

    // Tighter open-loop wake-ups than the default 50 us timer slack.
    prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
    const double cpu0 = cpu_seconds();
    const uint64_t t0 = monotonic_ns();
    const uint64_t end_ns = o.duration_s > 0 ? t0 + static_cast<uint64_t>(o.duration_s * 1e9) : UINT64_MAX;
    const double ns_per_msg = o.rate > 0 ? 1e9 / o.rate : 0;
    if (d.warmup == 0) {
      d.window_start_ns = t0;
      d.window_start_cpu = cpu0;
    }
    Poller poller(rk);
    int64_t sent = 0;
    // A run with failed deliveries is not a measurement: stop sending at the
    // first one instead of waiting out a timeout for every queued message.
    for (; !d.fatal && d.failed == 0 && (o.count > 0 ? sent < o.count : monotonic_ns() < end_ns); ++sent) {
      // Open loop: latency counts from the scheduled time, so a generator or
      // queue that falls behind shows up as latency (no coordinated omission).
      uint64_t scheduled = 0;
      if (o.rate > 0) {
        scheduled = t0 + static_cast<uint64_t>(static_cast<double>(sent) * ns_per_msg);
        if (monotonic_ns() < scheduled) sleep_until_ns(scheduled);
      }
      char* payload = const_cast<char*>(pool.data()) + (static_cast<size_t>(sent) * 7919) % (pool_span + 1);
      const int32_t partition =
          o.partitions > 0 ? static_cast<int32_t>(sent % o.partitions) : RD_KAFKA_PARTITION_UA;
      for (;;) {
        const uint64_t stamp = o.rate > 0 ? scheduled : monotonic_ns();
        if (rd_kafka_produce(rkt, partition, 0, payload, static_cast<size_t>(o.size), nullptr, 0,
                             reinterpret_cast<void*>(static_cast<uintptr_t>(stamp))) == 0) {
          break;
        }
        const rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          throw std::runtime_error(std::string("produce to '") + o.topic +
                                   "' failed: " + rd_kafka_err2str(err));
        }
        // Closed loop: the queue is full until acknowledgements make room.
        sleep_until_ns(monotonic_ns() + 50000);
      }
    }
    // Not rd_kafka_flush(): it would serve callbacks on this thread too.
    const uint64_t flush_deadline = monotonic_ns() + static_cast<uint64_t>(o.timeout_ms) * 1000000;
    while (rd_kafka_outq_len(rk) > 0 && !d.fatal && monotonic_ns() < flush_deadline) {
      sleep_until_ns(monotonic_ns() + 1000000);
    }
    poller.stop();
    const int64_t undelivered = rd_kafka_outq_len(rk);
    if (undelivered > 0) {
      fprintf(stderr, "keel-load: %" PRId64 " message(s) not acknowledged within --timeout-ms %" PRId64 "\n",
              undelivered, o.timeout_ms);
    }
    const double cpu1 = cpu_seconds();

    const int64_t failed = d.failed + undelivered;
    const double seconds = d.measured > 0 ? static_cast<double>(d.last_ns - d.window_start_ns) / 1e9 : 0;
    const double msgs_per_s = seconds > 0 ? static_cast<double>(d.measured) / seconds : 0;
    const double mb_per_s = msgs_per_s * static_cast<double>(o.size) / 1e6;
    const double cpu = cpu1 - (d.measured > 0 ? d.window_start_cpu : cpu0);
    const auto& h = d.latency_ns;
    auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1e3; };
    const char* from = o.rate > 0 ? "scheduled" : "enqueue";

    printf("produce %s: %" PRId64 " x %" PRId64
           " B acks=%s%s compression=%s rate=%s: %.0f msgs/s, %.2f MB/s payload "
           "over %.2f s (after %" PRId64
           " warm-up); %s->ack latency us p50 %.0f p99 %.0f p99.9 %.0f max %.0f; "
           "client cpu %.2f s; failed %" PRId64 "\n",
           o.topic.c_str(), d.measured, o.size, o.acks.c_str(), o.idempotent ? " idempotent" : "",
           o.compression.c_str(),
           o.rate > 0 ? std::to_string(static_cast<int64_t>(o.rate)).c_str() : "closed-loop", msgs_per_s,
           mb_per_s, seconds, d.warmup, from, us(h.percentile(0.50)), us(h.percentile(0.99)),
           us(h.percentile(0.999)), us(h.max()), cpu, failed);
    printf("{\"mode\":\"produce\",\"topic\":%s,\"size\":%" PRId64
           ",\"acks\":%s,\"idempotent\":%s,\"compression\":%s,\"rate\":%.0f,"
           "\"linger_ms\":%s,\"batch_size\":%s,\"inflight\":%s,\"queue_max_messages\":%s,"
           "\"sent\":%" PRId64 ",\"warmup\":%" PRId64 ",\"measured\":%" PRId64 ",\"failed\":%" PRId64
           ",\"seconds\":%.6f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,"
           "\"latency_from\":\"%s\",\"latency_us\":{\"min\":%.1f,\"mean\":%.1f,\"p50\":%.1f,\"p99\":%.1f,"
           "\"p999\":%.1f,\"max\":%.1f},\"client_cpu_s\":%.3f,\"client_cpu_s_total\":%.3f}\n",
           json_string(o.topic).c_str(), o.size, json_string(o.acks).c_str(), o.idempotent ? "true" : "false",
           json_string(o.compression).c_str(), o.rate, linger.c_str(), batch_size.c_str(), inflight.c_str(),
           queue_max.c_str(), sent, d.warmup, d.measured, failed, seconds, msgs_per_s, mb_per_s, from,
           us(h.min()), h.mean() / 1e3, us(h.percentile(0.50)), us(h.percentile(0.99)),
           us(h.percentile(0.999)), us(h.max()), cpu, cpu1);
    fflush(stdout);
    if (failed > 0 || d.fatal) exit_status = 1;
  } catch (...) {
    rd_kafka_destroy(rk);
    throw;
  }
  rd_kafka_destroy(rk);
  return exit_status;
}

}  // namespace keel::load
