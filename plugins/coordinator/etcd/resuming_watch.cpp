#include "coordinator/etcd/resuming_watch.hpp"

#include <algorithm>
#include <chrono>
#include <keel/thread_name.hpp>
#include <utility>
#include <vector>

namespace keel::coordinator {

using keel::etcd::WatchEvent;
using keel::etcd::WatchUpdate;

namespace {

constexpr std::chrono::milliseconds kFirstRetry{50};
constexpr std::chrono::milliseconds kMaxRetry{2000};

}  // namespace

ResumingWatch::ResumingWatch(const keel::etcd::EtcdClient& client, const keel::sdk::Host& host,
                             WatchDispatcher& dispatcher, uint64_t id, std::string etcd_prefix, size_t strip,
                             int64_t from_revision)
    : client_(client),
      host_(host),
      dispatcher_(dispatcher),
      id_(id),
      etcd_prefix_(std::move(etcd_prefix)),
      strip_(strip),
      next_revision_(std::max<int64_t>(from_revision, 0)),
      supervisor_([this] {
        keel::name_this_thread("etcd-watch-sup");
        run();
      }) {}

ResumingWatch::~ResumingWatch() { stop(); }

void ResumingWatch::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
}

void ResumingWatch::on_update(const WatchUpdate& u) {
  std::lock_guard lock(mu_);
  switch (u.kind) {
    case WatchUpdate::Kind::Created:
      created_ = true;
      if (next_revision_ == 0) next_revision_ = u.revision + 1;
      if (failing_) {
        host_.info("coordinator etcd: watch on " + etcd_prefix_ + " resumed from revision " +
                   std::to_string(next_revision_));
        failing_ = false;
      }
      return;
    case WatchUpdate::Kind::Events: {
      // One answer holds whole revisions; a repeat is older than next_revision_.
      const int64_t owed = next_revision_;
      std::vector<CoordEvent> events;
      for (const WatchEvent& e : u.events) {
        if (e.kv.mod_revision < owed || e.kv.key.size() < strip_) continue;
        CoordEvent ce;
        ce.revision = e.kv.mod_revision;
        ce.kv.key = e.kv.key.substr(strip_);
        ce.kv.mod_revision = e.kv.mod_revision;
        if (e.type == WatchEvent::Type::Put) {
          ce.type = KEEL_COORD_EVENT_PUT;
          ce.kv.value = e.kv.value;
          ce.kv.create_revision = e.kv.create_revision;
        } else {
          ce.type = KEEL_COORD_EVENT_DELETE;
        }
        next_revision_ = std::max(next_revision_, e.kv.mod_revision + 1);
        events.push_back(std::move(ce));
      }
      // Under mu_, so that a stream after this one cannot overtake it.
      dispatcher_.post(id_, std::move(events));
      return;
    }
    case WatchUpdate::Kind::Resync:
    case WatchUpdate::Kind::Cancelled:
    case WatchUpdate::Kind::Error:
      ended_ = true;
      end_ = u;
      changed_.notify_all();
      return;
  }
}

void ResumingWatch::run() {
  auto retry = kFirstRetry;
  for (;;) {
    int64_t from = 0;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      from = next_revision_;
      created_ = false;
      ended_ = false;
    }
    try {
      keel::etcd::Watch stream(client_, keel::etcd::WatchOptions::prefix(etcd_prefix_, from),
                               [this](const WatchUpdate& u) { on_update(u); });
      std::unique_lock lock(mu_);
      changed_.wait(lock, [this] { return stopping_ || ended_; });
      // Leaving the scope stops the stream and joins its thread (without
      // mu_, which on_update takes): no on_update after this.
      lock.unlock();
    } catch (const std::exception& e) {  // no thread for the stream: try again later
      std::lock_guard lock(mu_);
      ended_ = true;
      end_ =
          WatchUpdate{WatchUpdate::Kind::Error, 0, {}, 0, std::string("cannot start a stream: ") + e.what()};
    }
    WatchUpdate end;
    bool created = false;
    int64_t resume_from = 0;
    bool failing = false;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      end = end_;
      created = created_;
      resume_from = next_revision_;
      failing = failing_;
      failing_ = true;
    }
    if (end.kind == WatchUpdate::Kind::Resync) {
      host_.warn("coordinator etcd: watch on " + etcd_prefix_ + " from revision " + std::to_string(from) +
                 ": etcd compacted that history (it starts at revision " +
                 std::to_string(end.compact_revision) + "); the broker reads the state again (RESYNC)");
      dispatcher_.post(id_, {CoordEvent{KEEL_COORD_EVENT_RESYNC, {}, end.revision}});
      return;
    }
    if (created) retry = kFirstRetry;
    const std::string what =
        end.kind == WatchUpdate::Kind::Cancelled ? "etcd cancelled it: " + end.message : end.message;
    if (!failing) {
      const std::string point =
          resume_from == 0 ? "etcd's next revision" : "revision " + std::to_string(resume_from);
      host_.warn("coordinator etcd: watch on " + etcd_prefix_ + " broke (" + what + "); resuming from " +
                 point + " as soon as etcd answers");
    } else {
      host_.debug("coordinator etcd: watch on " + etcd_prefix_ + " still cannot resume: " + what);
    }
    {
      std::unique_lock lock(mu_);
      if (changed_.wait_for(lock, retry, [this] { return stopping_; })) return;
    }
    retry = std::min(retry * 2, kMaxRetry);
  }
}

}  // namespace keel::coordinator
