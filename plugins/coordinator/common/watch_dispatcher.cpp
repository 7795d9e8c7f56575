#include "coordinator/common/watch_dispatcher.hpp"

#include <keel/thread_name.hpp>
#include <utility>

namespace keel::coordinator {

WatchDispatcher::WatchDispatcher()
    : thread_([this] {
        keel::name_this_thread("coord-events");
        run();
      }) {}

WatchDispatcher::~WatchDispatcher() { stop(); }

uint64_t WatchDispatcher::add(keel_coord_event_callback cb, void* user) {
  auto slot = std::make_shared<Slot>();
  slot->cb = cb;
  slot->user = user;
  std::lock_guard lock(mu_);
  const uint64_t id = next_id_++;
  slots_.emplace(id, std::move(slot));
  return id;
}

void WatchDispatcher::schedule(uint64_t id, Slot& slot) {
  if (slot.scheduled || slot.queue.empty()) return;
  slot.scheduled = true;
  ready_.push_back(id);
  work_.notify_one();
}

void WatchDispatcher::post(uint64_t id, std::vector<CoordEvent> events) {
  if (events.empty()) return;
  std::lock_guard lock(mu_);
  const auto it = slots_.find(id);
  if (it == slots_.end() || stopping_) return;
  for (auto& e : events) it->second->queue.push_back(std::move(e));
  schedule(id, *it->second);
}

void WatchDispatcher::post_all(const CoordEvent& event) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  for (auto& [id, slot] : slots_) {
    slot->queue.push_back(event);
    schedule(id, *slot);
  }
}

void WatchDispatcher::remove(uint64_t id) {
  std::unique_lock lock(mu_);
  const auto it = slots_.find(id);
  if (it == slots_.end()) return;
  it->second->active.store(false);
  it->second->queue.clear();
  slots_.erase(it);  // the thread holds its own reference while it runs it
  // From inside a callback (this thread) the callback is the caller itself:
  // waiting would never end. It sees `active` cleared before its next call.
  if (on_dispatch_thread()) return;
  idle_.wait(lock, [&] { return running_ != id; });
}

void WatchDispatcher::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [id, slot] : slots_) slot->active.store(false);
    work_.notify_all();
  }
  if (thread_.joinable() && !on_dispatch_thread()) thread_.join();
}

void WatchDispatcher::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    work_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
    if (stopping_) return;
    const uint64_t id = ready_.front();
    ready_.pop_front();
    const auto it = slots_.find(id);
    if (it == slots_.end()) continue;  // removed since it was scheduled
    const std::shared_ptr<Slot> slot = it->second;
    slot->scheduled = false;
    std::deque<CoordEvent> batch;
    batch.swap(slot->queue);
    running_ = id;
    lock.unlock();
    for (const CoordEvent& e : batch) {
      if (!slot->active.load()) break;  // removed meanwhile, maybe by this very callback
      const bool has_kv = e.type == KEEL_COORD_EVENT_PUT || e.type == KEEL_COORD_EVENT_DELETE;
      const keel_coord_kv view = keel::sdk::coord_kv_view(e.kv, e.type == KEEL_COORD_EVENT_DELETE);
      slot->cb(slot->user, e.type, has_kv ? &view : nullptr, e.revision);
    }
    lock.lock();
    running_ = 0;
    idle_.notify_all();
    // Events posted while the batch ran wait for their turn behind others.
    if (slot->active.load()) schedule(id, *slot);
  }
}

}  // namespace keel::coordinator
