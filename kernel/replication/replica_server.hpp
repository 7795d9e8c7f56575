// The leader's side of the replication protocol: a listener
// ([cluster] replication_listen) and one thread per follower connection,
// which reads a ReplicaFetch, has the ReplicaManager answer it (possibly
// after waiting for data) and writes the answer back.
//
// Threads: start() starts the accept thread; each accepted connection gets
// its own thread; stop() closes the listener, wakes every connection and
// joins them all.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "replication/frame_socket.hpp"
#include "replication/replica_wire.hpp"

namespace keel {

class ReplicaServer {
 public:
  using Handler = std::function<ReplicaFetchResponse(const ReplicaFetchRequest&)>;
  explicit ReplicaServer(Handler handler) : handler_(std::move(handler)) {}
  ~ReplicaServer() { stop(); }
  // Binds and starts accepting; returns the bound port. Throws keel::Error.
  int32_t start(const std::string& host, int32_t port);
  void stop();
  const std::atomic<bool>& stopping() const { return stop_; }

 private:
  struct Connection {
    FrameSocket socket;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void accept_loop();
  void serve(Connection* c);
  void reap_finished();

  Handler handler_;
  FrameListener listener_;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::list<std::unique_ptr<Connection>> connections_;  // guarded by mu_
};

}  // namespace keel
