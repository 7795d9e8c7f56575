// One watch of the etcd coordinator: an etcd Watch (etcd_watch.hpp) over
// the namespaced prefix, started again after a broken connection from the
// revision after the last one delivered, so that the broker sees every
// change under the prefix once, in revision order, whatever happens to the
// connection. Events go to the coordinator's WatchDispatcher, which runs the
// broker's callback.
//
// Ends (delivers nothing more) with RESYNC when etcd says the history from
// the revision it needs was compacted away; then only unwatch is left.
// Anything else that ends a stream (refused or broken connection, etcd
// restarting, a cancel) is retried with back-off: 50 ms doubling to 2 s,
// back to 50 ms once a stream was set up. The first failure of a run is
// logged as a warning, the return as info.
//
// Threads: the supervisor thread (run) starts and stops the streams one at
// a time; each stream's own thread calls on_update. stop() from any other
// thread, including the dispatcher's.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <keel/plugin.hpp>
#include <mutex>
#include <string>
#include <thread>

#include "coordinator/common/watch_dispatcher.hpp"
#include "coordinator/etcd/etcd_client.hpp"
#include "coordinator/etcd/etcd_watch.hpp"

namespace keel::coordinator {

class ResumingWatch {
 public:
  // etcd_prefix: the watched prefix with the namespace; strip: the
  // namespace's length, cut from every key delivered. from_revision <= 0:
  // from etcd's next revision on. client and dispatcher must outlive it.
  ResumingWatch(const keel::etcd::EtcdClient& client, const keel::sdk::Host& host,
                WatchDispatcher& dispatcher, uint64_t id, std::string etcd_prefix, size_t strip,
                int64_t from_revision);
  ~ResumingWatch();
  ResumingWatch(const ResumingWatch&) = delete;
  ResumingWatch& operator=(const ResumingWatch&) = delete;

  // Stops and joins the current stream and the supervisor.
  void stop();

 private:
  void run();
  void on_update(const keel::etcd::WatchUpdate& u);

  const keel::etcd::EtcdClient& client_;
  keel::sdk::Host host_;
  WatchDispatcher& dispatcher_;
  const uint64_t id_;
  const std::string etcd_prefix_;
  const size_t strip_;

  std::mutex mu_;
  std::condition_variable changed_;  // stopping_ or ended_
  bool stopping_ = false;
  // The next revision owed to the broker (0: whatever etcd has next, until
  // the first stream is set up). A new stream starts there; events below it
  // are repeats of a stream before and are dropped.
  int64_t next_revision_;
  // The current stream's fate: set up (created_), ended, and how.
  bool created_ = false;
  bool ended_ = false;
  keel::etcd::WatchUpdate end_;
  // A broken stream was logged and no stream was set up since.
  bool failing_ = false;
  std::thread supervisor_;  // last: started once the rest is in place
};

}  // namespace keel::coordinator
