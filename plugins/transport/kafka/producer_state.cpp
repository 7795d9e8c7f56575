#include "producer_state.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <keel/record_batch.hpp>
#include <limits>

#include "protocol/errors.hpp"
#include "services.hpp"

namespace keel::kafka {
namespace {

// Sequences wrap from INT32_MAX to 0, as in Kafka.
int32_t add_seq(int32_t seq, int64_t delta) {
  int64_t s = static_cast<int64_t>(seq) + delta;
  constexpr int64_t kSpan = static_cast<int64_t>(std::numeric_limits<int32_t>::max()) + 1;
  if (s >= kSpan) s -= kSpan;
  return static_cast<int32_t>(s);
}

bool in_sequence(int32_t last_seq, int32_t first_seq) { return first_seq == add_seq(last_seq, 1); }

ProduceOutcome to_outcome(const sdk::ProduceResult& r) {
  ProduceOutcome o;
  o.status = r.status;
  o.base_offset = r.base_offset;
  o.log_append_time = r.log_append_time;
  o.log_start_offset = r.log_start_offset;
  o.message = r.message;
  return o;
}

ProduceOutcome refused(ErrorCode e, std::string message) {
  ProduceOutcome o;
  o.error = code(e);
  o.message = std::move(message);
  return o;
}

// Reads batch headers from a span of a segment file in 64 KiB windows.
class HeaderReader {
 public:
  HeaderReader(int fd, int64_t end) : fd_(fd), end_(end) {}

  std::optional<batch::Header> at(int64_t pos) {
    if (pos < buf_pos_ ||
        pos + static_cast<int64_t>(batch::kHeaderSize) > buf_pos_ + static_cast<int64_t>(len_)) {
      const int64_t want = std::min<int64_t>(sizeof buf_, end_ - pos);
      if (want < static_cast<int64_t>(batch::kHeaderSize)) return std::nullopt;
      ssize_t n = ::pread(fd_, buf_, static_cast<size_t>(want), pos);
      if (n < static_cast<ssize_t>(batch::kHeaderSize)) return std::nullopt;
      buf_pos_ = pos;
      len_ = static_cast<size_t>(n);
    }
    return batch::parse_header(buf_ + (pos - buf_pos_), batch::kHeaderSize);
  }

 private:
  int fd_;
  int64_t end_;
  uint8_t buf_[64 * 1024];
  int64_t buf_pos_ = -1;
  size_t len_ = 0;
};

}  // namespace

IdentityResult read_identity(const uint8_t* records, size_t len) {
  IdentityResult out;
  size_t pos = 0;
  bool first = true;
  while (len - pos >= batch::kHeaderSize) {
    auto h = batch::parse_header(records + pos, len - pos);
    if (!h || h->magic != batch::kMagic || h->batch_length < batch::kMinBatchLength ||
        h->total_size() > len - pos || h->last_offset_delta < 0) {
      return IdentityResult{};  // the kernel names what is wrong
    }
    if (first) {
      out.identity = BatchIdentity{h->producer_id, h->producer_epoch, h->base_sequence, h->base_sequence};
      first = false;
    } else if (h->producer_id != out.identity.producer_id || h->producer_epoch != out.identity.epoch) {
      out.error = "the batches of one partition come from different producers or epochs";
      return out;
    } else if (h->producer_id >= 0 && !in_sequence(out.identity.last_seq, h->base_sequence)) {
      out.error = "the batches of one partition leave a gap between sequences " +
                  std::to_string(out.identity.last_seq) + " and " + std::to_string(h->base_sequence);
      return out;
    }
    if (h->producer_id >= 0) out.identity.last_seq = add_seq(h->base_sequence, h->last_offset_delta);
    pos += h->total_size();
  }
  if (out.identity.producer_id < 0) out.identity = BatchIdentity{};
  return out;
}

// Ids start at the start time in milliseconds times 256: a restarted broker
// never repeats an id it handed out before unless it gave out more than 256
// ids per millisecond of its previous run, or the clock went backwards.
// Ids seen in the logs during a rebuild push the counter past them as well.
ProducerStateTable::ProducerStateTable(Services& services)
    : services_(services), next_id_(std::max<int64_t>(services.host.now_ms(), 1) * 256) {}

ProducerStateTable::~ProducerStateTable() = default;

int64_t ProducerStateTable::allocate_id() { return next_id_.fetch_add(1); }

void ProducerStateTable::seen_id(int64_t id) {
  int64_t cur = next_id_.load();
  while (cur <= id && !next_id_.compare_exchange_weak(cur, id + 1)) {
  }
}

std::shared_ptr<ProducerStateTable::Partition> ProducerStateTable::partition(const std::string& topic,
                                                                             int32_t p) {
  std::lock_guard lock(partitions_mu_);
  auto& slot = partitions_[{topic, p}];
  if (!slot) slot = std::make_shared<Partition>();
  return slot;
}

void ProducerStateTable::remember(Partition& part, int64_t producer_id, int16_t epoch,
                                  std::shared_ptr<Batch> b) {
  auto [it, fresh] = part.producers.try_emplace(producer_id);
  Producer& prod = it->second;
  if (fresh || epoch > prod.epoch) {
    prod.epoch = epoch;
    prod.batches.clear();
    prod.last_seq = -1;
  }
  prod.last_seq = b->last_seq;
  prod.batches.push_back(std::move(b));
  while (prod.batches.size() > kBatchesPerProducer) prod.batches.pop_front();
  prod.last_used = ++part.tick;
  if (part.producers.size() > kProducersPerPartition) {
    auto oldest = part.producers.end();
    for (auto i = part.producers.begin(); i != part.producers.end(); ++i) {
      const bool busy = std::any_of(i->second.batches.begin(), i->second.batches.end(),
                                    [](const auto& x) { return x->pending; });
      if (i->first == producer_id || busy) continue;
      if (oldest == part.producers.end() || i->second.last_used < oldest->second.last_used) oldest = i;
    }
    if (oldest != part.producers.end()) part.producers.erase(oldest);
  }
}

void ProducerStateTable::rebuild(const std::string& topic, int32_t p, Partition& part) {
  const keel_broker_api* api = services_.broker.raw();
  keel_watermarks w{};
  w.struct_size = sizeof w;
  // An unknown partition has no history; the produce itself may create it.
  if (api->watermarks(api->ctx, topic.c_str(), p, &w) != KEEL_OK) return;
  Partition scanned;
  int64_t offset = std::max(w.log_start_offset, w.high_watermark - kRebuildWindow);
  int64_t batches = 0;
  while (offset < w.high_watermark) {
    keel_fetch_result r{};
    r.struct_size = sizeof r;
    keel_error err{};
    if (api->fetch(api->ctx, topic.c_str(), p, offset, 1 << 20, &r, &err) != KEEL_OK) {
      services_.host.warn("idempotent producer state of " + topic + "-" + std::to_string(p) +
                          ": reading the log at offset " + std::to_string(offset) + " failed (" +
                          err.message + "); retries of batches before it may be appended twice");
      break;
    }
    std::unique_ptr<keel_fetch_result, std::function<void(keel_fetch_result*)>> pin(
        &r, [api](keel_fetch_result* x) { api->release_fetch(api->ctx, x); });
    if (r.length <= 0) break;
    const int64_t end = r.file_position + r.length;
    HeaderReader reader(r.fd, end);
    int64_t next = offset;
    for (int64_t pos = r.file_position; pos < end;) {
      auto h = reader.at(pos);
      if (!h || h->batch_length < batch::kMinBatchLength) break;
      if (h->producer_id >= 0 && !h->control()) {
        auto b = std::make_shared<Batch>();
        b->first_seq = h->base_sequence;
        b->last_seq = add_seq(h->base_sequence, h->last_offset_delta);
        b->pending = false;
        b->outcome.base_offset = h->base_offset;
        auto known = scanned.producers.find(h->producer_id);
        if (known == scanned.producers.end() || h->producer_epoch >= known->second.epoch) {
          remember(scanned, h->producer_id, h->producer_epoch, std::move(b));
        }
        seen_id(h->producer_id);
        ++batches;
      }
      next = std::max(next, h->last_offset() + 1);
      pos += static_cast<int64_t>(h->total_size());
    }
    if (next <= offset) break;
    offset = next;
  }
  if (!scanned.producers.empty()) {
    services_.host.info("rebuilt idempotent producer state of " + topic + "-" + std::to_string(p) + ": " +
                        std::to_string(scanned.producers.size()) + " producer(s) from " +
                        std::to_string(batches) + " batch(es) of the last " + std::to_string(kRebuildWindow) +
                        " offsets");
  }
  std::lock_guard lock(part.state_mu);
  part.producers = std::move(scanned.producers);
  part.tick = scanned.tick;
}

void ProducerStateTable::produce(const std::string& topic, int32_t p, const uint8_t* records, size_t len,
                                 int32_t acks, const BatchIdentity& id, Done done) {
  if (id.producer_id < 0) {
    services_.broker.produce(topic, p, records, len, acks,
                             [done = std::move(done)](const sdk::ProduceResult& r) { done(to_outcome(r)); });
    return;
  }
  auto part = partition(topic, p);
  std::lock_guard append_lock(part->append_mu);
  if (!part->loaded) {
    rebuild(topic, p, *part);
    part->loaded = true;
  }
  std::shared_ptr<Batch> batch;
  std::shared_ptr<Batch> duplicate;
  int32_t previous_last_seq = -1;
  {
    std::lock_guard lock(part->state_mu);
    auto it = part->producers.find(id.producer_id);
    const std::string who = "producer " + std::to_string(id.producer_id) + " epoch " +
                            std::to_string(id.epoch) + " on " + topic + "-" + std::to_string(p);
    if (it == part->producers.end()) {
      if (id.first_seq != 0) {
        return done(
            refused(ErrorCode::kUnknownProducerId,
                    who + " is unknown and its batch starts at sequence " + std::to_string(id.first_seq)));
      }
    } else {
      Producer& prod = it->second;
      prod.last_used = ++part->tick;
      if (id.epoch < prod.epoch) {
        return done(refused(ErrorCode::kInvalidProducerEpoch,
                            who + " is fenced by epoch " + std::to_string(prod.epoch)));
      }
      if (id.epoch > prod.epoch && id.first_seq != 0) {
        return done(
            refused(ErrorCode::kOutOfOrderSequenceNumber,
                    who + ": a new epoch must start at sequence 0, not " + std::to_string(id.first_seq)));
      }
      if (id.epoch == prod.epoch) {
        for (const auto& b : prod.batches) {
          if (b->first_seq == id.first_seq && b->last_seq == id.last_seq) duplicate = b;
        }
        if (duplicate && duplicate->pending) {
          duplicate->waiters.push_back(std::move(done));
          return;
        }
        if (!duplicate && !in_sequence(prod.last_seq, id.first_seq)) {
          return done(refused(ErrorCode::kOutOfOrderSequenceNumber,
                              who + ": expected sequence " + std::to_string(add_seq(prod.last_seq, 1)) +
                                  ", got " + std::to_string(id.first_seq)));
        }
      }
      previous_last_seq = id.epoch == prod.epoch ? prod.last_seq : -1;
    }
    if (!duplicate) {
      batch = std::make_shared<Batch>();
      batch->first_seq = id.first_seq;
      batch->last_seq = id.last_seq;
      remember(*part, id.producer_id, id.epoch, batch);
    }
  }
  if (duplicate) return done(duplicate->outcome);

  // The kernel appends before produce() returns (its callback may wait for
  // the flush), so holding append_mu here fixes the order in the log.
  services_.broker.produce(topic, p, records, len, acks,
                           [part, batch, pid = id.producer_id, previous_last_seq,
                            done = std::move(done)](const sdk::ProduceResult& r) {
                             ProduceOutcome o = to_outcome(r);
                             std::vector<Done> waiters;
                             {
                               std::lock_guard lock(part->state_mu);
                               batch->pending = false;
                               batch->outcome = o;
                               waiters.swap(batch->waiters);
                               if (r.status != KEEL_OK) {
                                 // Not in the log (or not durable): let the client's retry in.
                                 auto it = part->producers.find(pid);
                                 if (it != part->producers.end()) {
                                   auto& bs = it->second.batches;
                                   bs.erase(std::remove(bs.begin(), bs.end(), batch), bs.end());
                                   if (it->second.last_seq == batch->last_seq)
                                     it->second.last_seq = previous_last_seq;
                                 }
                               }
                             }
                             done(o);
                             for (auto& w : waiters) w(o);
                           });
}

}  // namespace keel::kafka
