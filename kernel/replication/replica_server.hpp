// The leader's side of the replication protocol: a listener
// ([cluster] replication_listen) and one thread per follower connection,
// which reads a ReplicaFetch and has the ReplicaManager answer it, now or,
// when there is nothing to send yet, later: the fetch is then parked.
//
// A parked fetch is answered by whichever thread comes first:
//  - the thread that appended the data it waits for, through the
//    connection's Outlet, right after its append. This spares a lone
//    record a wake-up of the connection's thread per follower, where thread
//    switches dominated the leader's profile (docs/performance.md, "The
//    appender answers a parked follower");
//  - the connection's thread, when the fetch's wait ends (no data within
//    max_wait_ms, high-watermark news, stop) or when the appender hands it
//    the fetch (ParkedFetch::due) or the part of the answer the socket did
//    not take at once.
// The follower sends its next fetch only once it has the whole answer, so
// a readable socket means the parked fetch was answered.
//
// Threads: start() starts the accept thread; each accepted connection gets
// its own thread; stop() closes the listener, wakes every connection and
// joins them all. An Outlet is used from any thread while its connection's
// fetch is parked; the ParkedFetch guarantees that no such use outlives it.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "replication/frame_socket.hpp"
#include "replication/replica_wire.hpp"

namespace keel {

class ReplicaServer {
 public:
  // Where a parked fetch's answer goes out from another thread.
  class Outlet {
   public:
    explicit Outlet(FrameSocket& socket);
    ~Outlet();
    Outlet(const Outlet&) = delete;
    Outlet& operator=(const Outlet&) = delete;
    // Sends an encoded answer as far as the socket takes it without
    // waiting; the connection's thread sends the rest. Once per parked
    // fetch, by the one that answers it.
    void answer(std::string payload);
    // Has the connection's thread call ParkedFetch::due(true) now.
    void wake();

   private:
    friend class ReplicaServer;
    struct Rest {
      std::string payload;
      size_t sent = 0;     // bytes of the frame already out
      std::string failed;  // why the send failed part-way: the connection ends
    };
    // The connection's thread: clears the wake-up; what is left to send.
    std::optional<Rest> take();

    FrameSocket& socket_;
    int wake_fd_ = -1;  // an eventfd
    std::mutex mu_;
    std::optional<Rest> rest_;  // guarded by mu_
  };

  // A fetch held until there is something to answer; the handler made it.
  class ParkedFetch {
   public:
    // Returns only once no other thread uses the Outlet for this fetch.
    virtual ~ParkedFetch() = default;
    // How long the connection's thread may wait before asking due().
    virtual int64_t check_every_ms() const = 0;
    // The connection's thread: the answer to send now, if the fetch's wait
    // is over (`woken`: Outlet::wake() was called) and no other thread
    // answers it.
    virtual std::optional<ReplicaFetchResponse> due(bool woken) = 0;
    // Another thread took it: the connection only waits for the
    // follower's next fetch (or for the rest of the answer to send).
    virtual bool taken() const = 0;
  };

  struct Reply {
    std::optional<ReplicaFetchResponse> now;  // send this, or:
    std::unique_ptr<ParkedFetch> parked;
  };
  using Handler = std::function<Reply(const ReplicaFetchRequest&, Outlet&)>;

  explicit ReplicaServer(Handler handler) : handler_(std::move(handler)) {}
  ~ReplicaServer() { stop(); }
  // Binds and starts accepting; returns the bound port. Throws keel::Error.
  int32_t start(const std::string& host, int32_t port);
  void stop();
  const std::atomic<bool>& stopping() const { return stop_; }

 private:
  struct Connection {
    FrameSocket socket;
    Outlet outlet{socket};
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
