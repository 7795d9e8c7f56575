// Measurement and report shared by the peer load clients. The figures are
// defined as keel-load defines them (throughput after the warm-up, from the
// warm-up's last acknowledgement to the last one; latency send->ack) and the
// JSON line has keel-load's keys, so bench/compare reads all clients alike.
#pragma once

#include "json_string.hpp"
#include <cstdint>
#include <string>
#include <vector>

#include "histogram.hpp"

namespace keel::peers {

uint64_t monotonic_ns();

// User + system CPU of this process, all threads.
double cpu_seconds();

// Distinct alphanumeric payloads, read at varying offsets of one buffer (the
// same scheme as keel-load, so no system sees identical messages).
std::vector<char> make_payload_pool(int64_t size);

// Not thread-safe: call from one thread at a time.
class AckRecorder {
 public:
  explicit AckRecorder(int64_t warmup) : warmup_(warmup) {}

  // The clock starts at the first send when there is no warm-up.
  void start(uint64_t now_ns);
  void ok(uint64_t sent_ns, uint64_t now_ns);
  void failed() { ++failed_; }

  int64_t acked() const { return acked_; }
  int64_t failures() const { return failed_; }

  // One human-readable line, then one JSON line; `system` names the peer
  // ("redis-xadd", "nats-jetstream"), `extra_json` adds its own keys
  // (",\"key\":value..." or empty).
  void print(const std::string& system, const std::string& target, int64_t size, int64_t window, int64_t sent,
             const std::string& extra_json) const;

 private:
  int64_t warmup_;
  int64_t acked_ = 0;
  int64_t failed_ = 0;
  int64_t measured_ = 0;
  uint64_t window_start_ns_ = 0;
  uint64_t last_ns_ = 0;
  double window_start_cpu_ = 0;
  keel::load::LatencyHistogram latency_ns_;
};

using keel::bench::json_string;

}  // namespace keel::peers
