// Blocking TCP with deadlines for the replication protocol: one
// length-prefixed frame at a time (replica_wire.hpp). A follower holds one
// connection per leader broker and the leader one thread per connection,
// so a handful of blocking sockets beats an event loop here.
//
// A send tries the socket first and waits only when it is full; a receive
// reads as much as has arrived into a buffer, so a small frame usually
// costs one poll and one recv instead of two of each (docs/performance.md,
// "A read at the log's end").
//
// Threads: a FrameSocket is used by one thread at a time, with one
// exception: while its thread waits to read (wait_readable), another thread
// may send a frame (send_now), as a leader's appender answers a parked
// follower fetch (ReplicaServer::Outlet). shutdown() may come from any
// thread and wakes a blocked send or receive (it fails).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace keel {

class FrameSocket {
 public:
  FrameSocket() = default;
  explicit FrameSocket(int fd) : fd_(fd) {}
  ~FrameSocket();
  FrameSocket(const FrameSocket&) = delete;
  FrameSocket& operator=(const FrameSocket&) = delete;
  FrameSocket(FrameSocket&& o) noexcept
      : fd_(o.fd_), in_(std::move(o.in_)), in_begin_(o.in_begin_), in_end_(o.in_end_) {
    o.fd_ = -1;
  }
  FrameSocket& operator=(FrameSocket&& o) noexcept;

  // Throws keel::Error (UNAVAILABLE) naming host:port when it cannot
  // connect within timeout_ms.
  static FrameSocket connect(const std::string& host, int32_t port, int64_t timeout_ms);

  bool is_open() const { return fd_ >= 0; }
  // Throw keel::Error (UNAVAILABLE on a closed or failed connection or the
  // deadline, CORRUPT for a frame over kMaxReplicaFrame).
  // `from`: bytes of the frame (4-byte length, then payload) already sent.
  void send_frame(const std::string& payload, int64_t timeout_ms, size_t from = 0);
  // Sends as much of the frame from `from` on as the socket takes now,
  // without waiting; returns the bytes of the frame sent in all (from
  // included). Throws like send_frame on a failed connection.
  size_t send_now(const std::string& payload, size_t from = 0);
  std::string recv_frame(int64_t timeout_ms);
  enum class Ready { kReadable, kWoken, kTimedOut };
  // Waits at most timeout_ms for bytes to read (or buffered ones) or for
  // `wake_fd` to become readable (it is not read here).
  Ready wait_readable(int wake_fd, int64_t timeout_ms);
  // Wakes a thread blocked on this socket; later calls fail.
  void shutdown();
  void close();

 private:
  void wait_for(short events, int64_t deadline_ms, const char* what);
  // One non-blocking sendmsg of the frame's bytes from `sent` on: how many
  // went out, 0 when the socket is full.
  size_t send_once(const uint8_t* head, const std::string& payload, size_t sent);
  // Waits for bytes and appends what has arrived to in_.
  void fill(int64_t deadline_ms);
  // Waits for bytes and receives up to `len` of them (at least one).
  size_t recv_some(char* out, size_t len, int64_t deadline_ms);
  int fd_ = -1;
  // Received bytes not yet handed out: [in_begin_, in_end_) of in_.
  std::vector<char> in_;
  size_t in_begin_ = 0;
  size_t in_end_ = 0;
};

// A listening socket. accept() waits at most timeout_ms; -1 when none came.
class FrameListener {
 public:
  FrameListener() = default;
  ~FrameListener();
  FrameListener(const FrameListener&) = delete;
  FrameListener& operator=(const FrameListener&) = delete;
  // Binds host:port (port 0: any free one); returns the bound port. Throws
  // keel::Error (UNAVAILABLE) naming the address.
  int32_t listen(const std::string& host, int32_t port);
  int accept(int64_t timeout_ms);
  void close();

 private:
  int fd_ = -1;
};

}  // namespace keel
