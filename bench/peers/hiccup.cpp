// keel-hiccup: how long this machine keeps a thread that asked to wake up
// from running, with no broker in the way. It sleeps --interval-us at a time
// and records how much later than asked each sleep ends; pinned to a core
// (taskset), the longest of those is the longest stall any program on that
// core could have seen meanwhile: a host that does not run the virtual CPU,
// an interrupt storm, a kernel path that holds the core.
//
// bench/compare runs one on each core beside each open-loop run, so that a
// tail a broker did not cause can be told from one it did (on this VM,
// stalls of up to 17-46 ms came within 20 s with nothing else running).
//
//   keel-hiccup --duration SECONDS [--interval-us N (1000)]
//
// Prints one human line and one JSON line.
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "histogram.hpp"

namespace {

int64_t now_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

double number(const std::string& name, const char* v) {
  char* end = nullptr;
  const double d = std::strtod(v, &end);
  if (end == v || *end != '\0' || !(d > 0)) throw std::invalid_argument(name + " must be a number > 0");
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  double duration_s = 0;
  double interval_us = 1000;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--help" || a == "-h") {
        std::puts("usage: keel-hiccup --duration SECONDS [--interval-us N (1000)]");
        return 0;
      }
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      if (a == "--duration") {
        duration_s = number(a, argv[++i]);
      } else if (a == "--interval-us") {
        interval_us = number(a, argv[++i]);
      } else {
        throw std::invalid_argument("unknown option " + a);
      }
    }
    if (duration_s <= 0) throw std::invalid_argument("--duration is required");
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "keel-hiccup: %s\n", e.what());
    return 2;
  }
  const auto interval_ns = static_cast<int64_t>(interval_us * 1000);
  const timespec pause{static_cast<time_t>(interval_ns / 1000000000),
                       static_cast<long>(interval_ns % 1000000000)};
  keel::load::LatencyHistogram late_us;
  long over_5ms = 0, over_20ms = 0;
  const int64_t end = now_ns() + static_cast<int64_t>(duration_s * 1e9);
  for (int64_t t0 = now_ns(); t0 < end; t0 = now_ns()) {
    nanosleep(&pause, nullptr);
    const int64_t late = now_ns() - t0 - interval_ns;
    late_us.record(static_cast<uint64_t>(late > 0 ? late / 1000 : 0));
    if (late > 5000000) ++over_5ms;
    if (late > 20000000) ++over_20ms;
  }
  const auto p = [&](double q) { return static_cast<unsigned long long>(late_us.percentile(q)); };
  std::printf(
      "hiccups over %.1f s, sleeping %.0f us at a time: late by p50 %llu us, p99 %llu us, max %llu us; "
      "%ld over 5 ms, %ld over 20 ms\n",
      duration_s, interval_us, p(0.5), p(0.99), static_cast<unsigned long long>(late_us.max()), over_5ms,
      over_20ms);
  std::printf(
      "{\"mode\":\"hiccup\",\"seconds\":%.3f,\"interval_us\":%.0f,\"late_us\":{\"p50\":%llu,\"p99\":%llu,"
      "\"max\":%llu},\"over_5ms\":%ld,\"over_20ms\":%ld}\n",
      duration_s, interval_us, p(0.5), p(0.99), static_cast<unsigned long long>(late_us.max()), over_5ms,
      over_20ms);
  return 0;
}
