#include "replication/replica_server.hpp"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <keel/thread_name.hpp>

#include "common/error.hpp"

namespace keel {

ReplicaServer::Outlet::Outlet(FrameSocket& socket) : socket_(socket) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    fail(KEEL_ERR_IO,
         std::string("cannot create an eventfd for a follower connection: ") + std::strerror(errno));
  }
}

ReplicaServer::Outlet::~Outlet() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void ReplicaServer::Outlet::answer(std::string payload) {
  Rest rest;
  try {
    rest.sent = socket_.send_now(payload);
    if (rest.sent == payload.size() + 4) return;
  } catch (const Error& e) {
    // Part of the frame may be out already: the stream cannot be resumed,
    // the connection's thread ends it and the follower connects again.
    rest.failed = e.what();
  }
  rest.payload = std::move(payload);
  {
    std::lock_guard lock(mu_);
    rest_ = std::move(rest);
  }
  wake();
}

void ReplicaServer::Outlet::wake() {
  const uint64_t one = 1;
  // Fails only when the counter is full (never, at one per fetch) or the
  // descriptor is gone (not while the connection lives).
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

std::optional<ReplicaServer::Outlet::Rest> ReplicaServer::Outlet::take() {
  uint64_t count = 0;
  [[maybe_unused]] const ssize_t n = ::read(wake_fd_, &count, sizeof count);
  std::lock_guard lock(mu_);
  return std::exchange(rest_, std::nullopt);
}

int32_t ReplicaServer::start(const std::string& host, int32_t port) {
  const int32_t bound = listener_.listen(host, port);
  accept_thread_ = std::thread([this] {
    name_this_thread("repl-accept");
    accept_loop();
  });
  return bound;
}

void ReplicaServer::stop() {
  if (stop_.exchange(true)) return;
  if (accept_thread_.joinable()) accept_thread_.join();
  listener_.close();
  std::list<std::unique_ptr<Connection>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& c : connections_) c->socket.shutdown();
    all.swap(connections_);
  }
  for (auto& c : all) {
    if (c->thread.joinable()) c->thread.join();
  }
}

void ReplicaServer::accept_loop() {
  while (!stop_) {
    const int fd = listener_.accept(200);
    reap_finished();
    if (fd < 0) continue;
    std::unique_ptr<Connection> c;
    try {
      c = std::make_unique<Connection>();
    } catch (const std::exception& e) {
      // Out of descriptors, most likely: this follower retries; the
      // listener and every other connection go on.
      spdlog::warn("replication: refusing a follower connection: {}", e.what());
      ::close(fd);
      continue;
    }
    c->socket = FrameSocket(fd);
    Connection* raw = c.get();
    std::lock_guard lock(mu_);
    if (stop_) break;  // `c` closes the socket
    connections_.push_back(std::move(c));
    raw->thread = std::thread([this, raw] {
      name_this_thread("repl-serve");
      serve(raw);
    });
  }
}

void ReplicaServer::reap_finished() {
  std::list<std::unique_ptr<Connection>> finished;
  {
    std::lock_guard lock(mu_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      if ((*it)->done) {
        finished.push_back(std::move(*it));
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished) {
    if (c->thread.joinable()) c->thread.join();
  }
}

void ReplicaServer::serve(Connection* c) {
  // Answers go out within this; a follower that reads nothing for so long
  // is gone.
  constexpr int64_t kSendTimeoutMs = 30000;
  // A follower sends its next fetch right after the last answer; a minute
  // of silence means it is gone.
  constexpr int64_t kSilenceMs = 60000;
  const auto send = [c](const ReplicaFetchResponse& r) { c->socket.send_frame(encode(r), kSendTimeoutMs); };
  try {
    std::unique_ptr<ParkedFetch> parked;
    // The parked fetch's answer, from this thread; errors go to the follower.
    const auto answer_due = [&](bool woken) {
      std::optional<ReplicaFetchResponse> r;
      try {
        r = parked->due(woken);
      } catch (const Error& e) {
        r.emplace().error = e.what();
      }
      if (r) {
        send(*r);
        parked.reset();
      }
    };
    while (!stop_) {
      if (parked) {
        // Taken by another thread: nothing to check, only the follower's
        // next fetch (or the answer's rest) to wait for.
        const bool taken = parked->taken();
        switch (c->socket.wait_readable(c->outlet.wake_fd_, taken ? kSilenceMs : parked->check_every_ms())) {
          case FrameSocket::Ready::kWoken:
            if (auto rest = c->outlet.take()) {
              if (!rest->failed.empty()) fail(KEEL_ERR_UNAVAILABLE, "answering a follower: " + rest->failed);
              c->socket.send_frame(rest->payload, kSendTimeoutMs, rest->sent);
              parked.reset();
            } else if (!taken) {
              answer_due(true);
            }
            continue;
          case FrameSocket::Ready::kTimedOut:
            if (taken) fail(KEEL_ERR_UNAVAILABLE, "the follower sent nothing for a minute after its answer");
            answer_due(false);
            continue;
          case FrameSocket::Ready::kReadable:
            // The follower's next fetch (or its hang-up): the parked one
            // was answered on an append.
            parked.reset();
            if (c->outlet.take()) {
              fail(KEEL_ERR_CORRUPT,
                   "the follower hung up, or sent a request, before it had the whole answer to its last one");
            }
            break;
        }
      }
      const std::string payload = c->socket.recv_frame(kSilenceMs);
      // No fetch is parked here now: a wake-up left over from the last one
      // (a watch that fired after it was answered) must not end the next.
      c->outlet.take();
      Reply reply;
      try {
        reply = handler_(decode_fetch_request(payload), c->outlet);
      } catch (const Error& e) {
        reply.now.emplace().error = e.what();
      }
      if (reply.parked) {
        parked = std::move(reply.parked);
      } else if (reply.now) {
        send(*reply.now);
      }
    }
  } catch (const Error& e) {
    if (!stop_) spdlog::debug("replication: a follower connection ended: {}", e.what());
  }
  c->done = true;
}

}  // namespace keel
