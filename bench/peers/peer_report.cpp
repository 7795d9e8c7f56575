#include "peer_report.hpp"

#include <sys/resource.h>
#include <time.h>

#include <cinttypes>
#include <cstdio>
#include <random>

namespace keel::peers {

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000 + static_cast<uint64_t>(ts.tv_nsec);
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

std::vector<char> make_payload_pool(int64_t size) {
  std::vector<char> pool(static_cast<size_t>(size) + (1 << 20));
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::mt19937_64 rng(42);
  for (auto& c : pool) c = kAlphabet[rng() % (sizeof kAlphabet - 1)];
  return pool;
}

void AckRecorder::start(uint64_t now_ns) {
  if (warmup_ == 0) {
    window_start_ns_ = now_ns;
    window_start_cpu_ = cpu_seconds();
  }
}

void AckRecorder::ok(uint64_t sent_ns, uint64_t now_ns) {
  ++acked_;
  if (acked_ == warmup_) {
    window_start_ns_ = now_ns;
    window_start_cpu_ = cpu_seconds();
  }
  if (acked_ <= warmup_) return;
  latency_ns_.record(now_ns > sent_ns ? now_ns - sent_ns : 0);
  ++measured_;
  last_ns_ = now_ns;
}

void AckRecorder::print(const std::string& system, const std::string& target, int64_t size, int64_t window,
                        int64_t sent, const std::string& extra_json) const {
  const double cpu_now = cpu_seconds();
  const double seconds = measured_ > 0 ? static_cast<double>(last_ns_ - window_start_ns_) / 1e9 : 0;
  const double msgs_per_s = seconds > 0 ? static_cast<double>(measured_) / seconds : 0;
  const double mb_per_s = msgs_per_s * static_cast<double>(size) / 1e6;
  const double cpu = cpu_now - window_start_cpu_;
  const auto& h = latency_ns_;
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1e3; };
  const int64_t unacked = sent - acked_ - failed_;
  const int64_t failed = failed_ + unacked;
  printf("%s %s: %" PRId64 " x %" PRId64 " B window=%" PRId64
         ": %.0f msgs/s, %.2f MB/s payload over %.2f s (after %" PRId64
         " warm-up); send->ack latency us p50 %.0f p99 %.0f p99.9 %.0f max %.0f; client cpu %.2f s; failed "
         "%" PRId64 "\n",
         system.c_str(), target.c_str(), measured_, size, window, msgs_per_s, mb_per_s, seconds, warmup_,
         us(h.percentile(0.50)), us(h.percentile(0.99)), us(h.percentile(0.999)), us(h.max()), cpu, failed);
  printf("{\"mode\":\"produce\",\"system\":%s,\"topic\":%s,\"size\":%" PRId64 ",\"window\":%" PRId64
         ",\"sent\":%" PRId64 ",\"warmup\":%" PRId64 ",\"measured\":%" PRId64 ",\"failed\":%" PRId64
         ",\"seconds\":%.6f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"latency_from\":\"send\","
         "\"latency_us\":{\"min\":%.1f,\"mean\":%.1f,\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},"
         "\"client_cpu_s\":%.3f,\"client_cpu_s_total\":%.3f%s}\n",
         json_string(system).c_str(), json_string(target).c_str(), size, window, sent, warmup_, measured_,
         failed, seconds, msgs_per_s, mb_per_s, us(h.min()), h.mean() / 1e3, us(h.percentile(0.50)),
         us(h.percentile(0.99)), us(h.percentile(0.999)), us(h.max()), cpu, cpu_now, extra_json.c_str());
  fflush(stdout);
}

}  // namespace keel::peers
