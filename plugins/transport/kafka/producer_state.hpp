// Idempotent producers (KIP-98): producer id allocation, and per partition
// and producer the epoch and the last five batches' sequence ranges, so that
// a retried batch is answered with its original offset instead of being
// appended twice, and a sequence gap is refused.
//
// The state lives in memory and is rebuilt lazily, per partition, from the
// batch headers of the last kRebuildWindow offsets of the log the first time
// an idempotent batch arrives for it after a start. A producer silent for
// longer than that window looks unknown (UNKNOWN_PRODUCER_ID, after which
// clients reset their sequence), as in Kafka after retention removed its
// batches.
#pragma once

#include <keel/plugin.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace keel::kafka {

class Services;

// The producer fields of the batches in one partition's produce records.
struct BatchIdentity {
  int64_t producer_id = -1;  // -1: not idempotent, no checks
  int16_t epoch = -1;
  int32_t first_seq = -1;
  int32_t last_seq = -1;
};

// Reads BatchIdentity from the headers of the batches in `records`. Returns
// an error message when the batches mix producers or leave sequence gaps;
// malformed headers yield a non-idempotent identity so that the kernel's
// validation reports them precisely.
struct IdentityResult {
  BatchIdentity identity;
  std::string error;
};
IdentityResult read_identity(const uint8_t* records, size_t len);

// The outcome of one partition's produce. `error` is a Kafka error code set
// by the sequence checks; otherwise `status` is the broker's.
struct ProduceOutcome {
  int16_t error = 0;
  keel_status status = KEEL_OK;
  int64_t base_offset = -1;
  int64_t log_append_time = -1;
  int64_t log_start_offset = -1;
  std::string message;
};

class ProducerStateTable {
 public:
  // Offsets scanned backwards from the high watermark to rebuild a
  // partition's producer state after a start.
  static constexpr int64_t kRebuildWindow = 100000;
  // Batches remembered per producer and partition (Kafka's and librdkafka's
  // max.in.flight for idempotence).
  static constexpr size_t kBatchesPerProducer = 5;
  // Producers remembered per partition; the least recently seen go first.
  static constexpr size_t kProducersPerPartition = 10000;

  explicit ProducerStateTable(Services& services);
  ~ProducerStateTable();

  // A producer id never handed out before, also across restarts (see .cpp).
  int64_t allocate_id();

  using Done = std::function<void(const ProduceOutcome&)>;
  // Appends `records` (acks as in keel_broker_api.produce) after the
  // sequence checks for `id`; answers through `done` exactly once, maybe on
  // another thread. Batches of producer -1 go straight to the broker.
  void produce(const std::string& topic, int32_t partition, const uint8_t* records, size_t len, int32_t acks,
               const BatchIdentity& id, Done done);

 private:
  struct Batch {
    int32_t first_seq = 0;
    int32_t last_seq = 0;
    bool pending = true;  // appended or being appended, result not known yet
    ProduceOutcome outcome;
    std::vector<Done> waiters;  // retries that arrived while pending
  };
  struct Producer {
    int16_t epoch = 0;
    int32_t last_seq = -1;
    std::deque<std::shared_ptr<Batch>> batches;
    uint64_t last_used = 0;
  };
  struct Partition {
    // Serialises check-and-append for idempotent batches, so that the log
    // holds them in the order their sequences were accepted. Held across
    // the broker's produce call, never taken by its callback.
    std::mutex append_mu;
    bool loaded = false;  // guarded by append_mu
    // Guards the fields below; held only briefly, never across a broker call.
    std::mutex state_mu;
    std::unordered_map<int64_t, Producer> producers;
    uint64_t tick = 0;
  };

  std::shared_ptr<Partition> partition(const std::string& topic, int32_t p);
  void rebuild(const std::string& topic, int32_t p, Partition& part);
  static void remember(Partition& part, int64_t producer_id, int16_t epoch, std::shared_ptr<Batch> batch);
  void seen_id(int64_t id);

  Services& services_;
  std::atomic<int64_t> next_id_;
  std::mutex partitions_mu_;
  std::map<std::pair<std::string, int32_t>, std::shared_ptr<Partition>> partitions_;
};

}  // namespace keel::kafka
