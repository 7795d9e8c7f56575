// The thread on which a coordinator calls the broker's watch callbacks, and
// the unwatch rule of plugin.h around it.
//
// Why one thread of its own: plugin.h wants callbacks on the coordinator's
// threads (never the caller's), never two of one watch at once, and events
// of one watch in revision order, while they come from several places (a
// txn on the cluster thread, an etcd stream's thread, the session's
// keepalive thread for SESSION_LOST). Each producer only queues here, under
// a short lock; this thread alone runs callbacks, so no producer ever waits
// for the broker's code and no two callbacks of a watch can overlap.
//
// Threads: add, post, post_all and remove from any thread; remove also from
// inside a callback (then it does not wait). stop from any thread but this
// one's. Callbacks run without the dispatcher's lock held.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <keel/coordinator.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace keel::coordinator {

// One watch event: PUT and DELETE carry the key-value (a DELETE's kv has
// the key and, as mod_revision, the revision of the deletion; no value);
// RESYNC and SESSION_LOST carry none.
struct CoordEvent {
  int32_t type = KEEL_COORD_EVENT_PUT;  // KEEL_COORD_EVENT_*
  keel::sdk::CoordKeyValue kv;
  int64_t revision = 0;
};

class WatchDispatcher {
 public:
  WatchDispatcher();
  ~WatchDispatcher();
  WatchDispatcher(const WatchDispatcher&) = delete;
  WatchDispatcher& operator=(const WatchDispatcher&) = delete;

  // A new watch delivering to cb(user, ...); its id (never 0, never reused).
  uint64_t add(keel_coord_event_callback cb, void* user);
  // Queues events for watch `id`, delivered in the order posted; dropped
  // once `id` is removed.
  void post(uint64_t id, std::vector<CoordEvent> events);
  // Queues `event` for every watch there is now.
  void post_all(const CoordEvent& event);
  // After it returns the callback of `id` is not running (unless remove was
  // called from inside a callback) and never runs again; queued events are
  // dropped. Unknown ids are ignored.
  void remove(uint64_t id);
  // Delivers nothing more and joins the thread; queued events are dropped.
  void stop();

 private:
  struct Slot {
    keel_coord_event_callback cb = nullptr;
    void* user = nullptr;
    std::deque<CoordEvent> queue;
    bool scheduled = false;  // its id is in ready_
    // Cleared by remove (under mu_); read by the thread between callbacks
    // without the lock, hence atomic.
    std::atomic<bool> active{true};
  };

  void run();
  // With mu_ held: puts the slot in line for the thread.
  void schedule(uint64_t id, Slot& slot);
  bool on_dispatch_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

  std::mutex mu_;
  std::condition_variable work_;  // ready_ or stopping_ changed
  std::condition_variable idle_;  // running_ changed
  std::map<uint64_t, std::shared_ptr<Slot>> slots_;
  std::deque<uint64_t> ready_;  // watches with queued events, in the order they got them
  uint64_t next_id_ = 1;
  uint64_t running_ = 0;  // the watch whose callbacks the thread is running (0: none)
  bool stopping_ = false;
  std::thread thread_;  // last: started once the rest is in place
};

}  // namespace keel::coordinator
