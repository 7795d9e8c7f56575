#include "replication/replica_server.hpp"

#include <spdlog/spdlog.h>

#include <keel/thread_name.hpp>

#include "common/error.hpp"

namespace keel {

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
    auto c = std::make_unique<Connection>();
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
  try {
    while (!stop_) {
      // A follower sends its next fetch right after the last answer; a
      // minute of silence means it is gone.
      const std::string payload = c->socket.recv_frame(60000);
      ReplicaFetchResponse resp;
      try {
        resp = handler_(decode_fetch_request(payload));
      } catch (const Error& e) {
        resp.error = e.what();
      }
      c->socket.send_frame(encode(resp), 30000);
    }
  } catch (const Error& e) {
    if (!stop_) spdlog::debug("replication: a follower connection ended: {}", e.what());
  }
  c->done = true;
}

}  // namespace keel
