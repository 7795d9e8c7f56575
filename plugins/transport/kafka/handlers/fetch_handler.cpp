// Fetch (key 1), v4-12 (v12 flexible). No fetch sessions: session_id is
// always 0, which KIP-227 lets a broker answer to any full fetch (it means
// "no session was created"; the client keeps sending full fetches), and an
// incremental fetch (epoch > 0) gets FETCH_SESSION_ID_NOT_FOUND. No
// transactions (last_stable_offset = high watermark, no aborted ones). v12's
// tagged answer fields (diverging epoch, current leader, snapshot id) are
// left out, i.e. at their defaults. v9+'s current_leader_epoch is checked
// against the partition's (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH,
// leader_epoch_check.hpp) at every read. v13+ name
// topics by id, which Keel does not have, so Fetch stops at v12.
//
// Stored batches go out as FileSpans of their segment, never re-encoded.
// Long polling: when fewer than min_bytes are available, one broker watch
// per requested partition and a timer on the connection's strand wait for
// whichever comes first; every wake-up re-reads and re-arms, so nothing
// spins. All state is touched on the connection's strand only; the watch
// callbacks merely post there.
#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../authorization.hpp"
#include "../leader_epoch_check.hpp"
#include "../partition_error.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {
namespace {
namespace asio = boost::asio;

constexpr int16_t kFetchSessionIdNotFound = 70;
constexpr int32_t kMaxWaitCapMs = 5 * 60 * 1000;

struct PartitionFetch {
  int32_t index = 0;
  int64_t fetch_offset = 0;
  int32_t max_bytes = 0;
  int32_t current_leader_epoch = -1;  // v9+; -1: not checked
  // Filled by each read.
  int16_t error = 0;
  keel_watermarks marks{.struct_size = sizeof(keel_watermarks),
                        .reserved = 0,
                        .log_start_offset = -1,
                        .high_watermark = -1,
                        .log_end_offset = -1};
  FileSpan records;
};

struct TopicFetch {
  std::string name;
  bool may_read = true;  // the authorizer's answer to READ on the topic
  std::vector<PartitionFetch> partitions;
};

int16_t fetch_error(keel_status s) { return code(partition_error(s)); }

class FetchCall;

// The broker's watch callback gets this; it outlives the watch (deleted
// after unwatch returns, when the callback can no longer run).
struct WatchSlot {
  std::weak_ptr<FetchCall> call;
  keel_watch* handle = nullptr;
};

class FetchCall : public std::enable_shared_from_this<FetchCall> {
 public:
  FetchCall(Services& s, const Responder& r, asio::any_io_executor ex)
      : services_(s), respond_(r), executor_(std::move(ex)), timer_(executor_) {}
  ~FetchCall() { unwatch_all(); }

  int16_t version = 0;
  bool flexible = false;
  int32_t max_wait_ms = 0;
  int32_t min_bytes = 0;
  int32_t max_bytes = 0;
  int16_t top_error = 0;
  std::vector<TopicFetch> topics;

  void start() {
    if (top_error != 0 || enough(read_all()) || max_wait_ms <= 0) return send();
    release_all();
    timer_.expires_after(std::chrono::milliseconds(std::min(max_wait_ms, kMaxWaitCapMs)));
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->done_) return;
      self->read_all();
      self->send();
    });
    arm_watches();
  }

 private:
  bool enough(int64_t bytes) const { return failed_ || bytes >= min_bytes; }

  // Reads every partition within max_bytes overall: the first data found is
  // always included whole (KIP-74, the kernel returns at least one batch);
  // later partitions only get what still fits.
  int64_t read_all() {
    int64_t total = 0;
    failed_ = false;
    for (auto& t : topics) {
      for (auto& p : t.partitions) {
        p.records = FileSpan{};
        p.error = 0;
        const int64_t budget = static_cast<int64_t>(max_bytes) - total;
        const int64_t limit = total == 0 ? std::max<int64_t>(p.max_bytes, 1)
                                         : std::min<int64_t>(p.max_bytes, std::max<int64_t>(budget, 0));
        if (!t.may_read) {
          p.error = code(ErrorCode::kTopicAuthorizationFailed);
          p.marks.log_start_offset = p.marks.high_watermark = p.marks.log_end_offset = -1;
          failed_ = true;  // answered at once, as Kafka does
          continue;
        }
        std::unique_ptr<sdk::FetchedRange> fetched;
        std::string message;
        const ErrorCode fenced =
            check_current_leader_epoch(services_.broker, t.name, p.index, p.current_leader_epoch);
        const keel_status s = fenced != ErrorCode::kNone
                                  ? KEEL_OK
                                  : services_.broker.fetch(t.name, p.index, p.fetch_offset,
                                                           std::max<int64_t>(limit, 1), &fetched, &message);
        if (fenced != ErrorCode::kNone || s != KEEL_OK) {
          p.error = fenced != ErrorCode::kNone ? code(fenced) : fetch_error(s);
          p.marks = keel_watermarks{};
          p.marks.struct_size = sizeof p.marks;
          p.marks.log_start_offset = p.marks.high_watermark = p.marks.log_end_offset = -1;
          failed_ = true;
          if (s != KEEL_OK && s != KEEL_ERR_NOT_FOUND && s != KEEL_ERR_OUT_OF_RANGE) {
            // A consumer stuck on damaged offsets retries for as long as it
            // runs: bounded, like other lines a client can cause.
            services_.client_log.warn("fetch from " + t.name + "-" + std::to_string(p.index) + " at offset " +
                                      std::to_string(p.fetch_offset) + " failed: " + message);
          }
          continue;
        }
        const keel_fetch_result r = fetched->result();
        p.marks = fetched->watermarks();
        if (r.length <= 0 || (total > 0 && r.length > budget)) continue;  // released here
        p.records = FileSpan{r.fd, r.file_position, r.length, std::shared_ptr<void>(std::move(fetched))};
        total += r.length;
      }
    }
    return total;
  }

  void release_all() {
    for (auto& t : topics) {
      for (auto& p : t.partitions) p.records = FileSpan{};
    }
  }

  void arm_watches() {
    for (auto& t : topics) {
      for (auto& p : t.partitions) {
        // Fires once the log end passes what this fetch has already seen.
        const int64_t seen = std::max(p.fetch_offset, p.marks.high_watermark);
        auto* slot = new WatchSlot{weak_from_this(), nullptr};
        keel_status s = services_.broker.watch(
            t.name, p.index, seen,
            [](void* user) {
              auto* ws = static_cast<WatchSlot*>(user);
              if (auto call = ws->call.lock()) {
                asio::post(call->executor_, [call] { call->woken(); });
              }
            },
            slot, &slot->handle);
        if (s != KEEL_OK) {
          delete slot;
          continue;  // the partition vanished: the next read reports it
        }
        watches_.push_back(slot);
      }
    }
  }

  void unwatch_all() {
    for (auto* slot : watches_) {
      services_.broker.unwatch(slot->handle);
      delete slot;
    }
    watches_.clear();
  }

  void woken() {
    if (done_) return;
    unwatch_all();
    if (!respond_.open() || enough(read_all())) return send();
    release_all();
    arm_watches();
  }

  void send() {
    done_ = true;
    timer_.cancel();
    unwatch_all();
    Writer w;
    w.int32(0);  // throttle_time_ms
    if (version >= 7) {
      w.int16(top_error);
      w.int32(0);  // session_id: Keel keeps no fetch sessions
    }
    w.array_length(top_error != 0 ? 0 : static_cast<int32_t>(topics.size()), flexible);
    if (top_error == 0) {
      for (auto& t : topics) {
        w.string(t.name, flexible);
        w.array_length(static_cast<int32_t>(t.partitions.size()), flexible);
        for (auto& p : t.partitions) {
          w.int32(p.index);
          w.int16(p.error);
          w.int64(p.marks.high_watermark);
          w.int64(p.marks.high_watermark);  // last_stable_offset: no transactions
          if (version >= 5) w.int64(p.marks.log_start_offset);
          w.array_length(0, flexible);     // aborted_transactions: empty, not null
          if (version >= 11) w.int32(-1);  // preferred_read_replica
          w.records(std::move(p.records), flexible);
          w.tagged_fields(flexible);
        }
        w.tagged_fields(flexible);
      }
    }
    w.tagged_fields(flexible);
    respond_.send(std::move(w));
  }

  Services& services_;
  Responder respond_;
  asio::any_io_executor executor_;
  asio::steady_timer timer_;
  std::vector<WatchSlot*> watches_;
  bool done_ = false;
  bool failed_ = false;
};

}  // namespace

void handle_fetch(Services& services, Request& req, const Responder& respond) {
  asio::any_io_executor ex = respond.executor();
  if (!ex) return;  // the connection is gone; nobody to answer
  auto call = std::make_shared<FetchCall>(services, respond, ex);
  const bool flex = req.flexible;
  Reader& r = req.body;
  call->version = req.api_version;
  call->flexible = flex;
  r.int32();  // replica_id: consumers send -1
  call->max_wait_ms = r.int32();
  call->min_bytes = r.int32();
  call->max_bytes = r.int32();
  if (call->max_bytes <= 0) call->max_bytes = 1;
  r.int8();  // isolation_level: read_committed sees the same (no transactions)
  if (req.api_version >= 7) {
    r.int32();  // session_id
    const int32_t epoch = r.int32();
    // Epoch > 0 continues an incremental session Keel never created.
    if (epoch > 0) call->top_error = kFetchSessionIdNotFound;
  }
  const int32_t topic_count = r.array_length(flex);
  for (int32_t t = 0; t < topic_count; ++t) {
    TopicFetch topic;
    topic.name = r.any_string(flex);
    const int32_t partition_count = r.array_length(flex);
    for (int32_t i = 0; i < partition_count; ++i) {
      PartitionFetch p;
      p.index = r.int32();
      if (req.api_version >= 9) p.current_leader_epoch = r.int32();
      p.fetch_offset = r.int64();
      if (req.api_version >= 12) r.int32();  // last_fetched_epoch: for followers (not yet)
      if (req.api_version >= 5) r.int64();   // log_start_offset: for followers
      p.max_bytes = r.int32();
      if (flex) r.tagged_fields();
      topic.partitions.push_back(std::move(p));
    }
    if (flex) r.tagged_fields();
    topic.may_read = topic_allowed(services, req, KEEL_ACL_OP_READ, topic.name);
    call->topics.push_back(std::move(topic));
  }
  if (req.api_version >= 7) {
    const int32_t forgotten = r.array_length(flex);  // sessions only
    for (int32_t t = 0; t < forgotten; ++t) {
      r.any_string(flex);
      const int32_t n = r.array_length(flex);
      for (int32_t i = 0; i < n; ++i) r.int32();
      if (flex) r.tagged_fields();
    }
  }
  if (req.api_version >= 11) r.any_string(flex);  // rack_id: one broker, no closer replica
  if (flex) r.tagged_fields();
  call->start();
}

}  // namespace keel::kafka
