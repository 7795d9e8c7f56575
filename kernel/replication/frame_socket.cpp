#include "replication/frame_socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <keel/record_batch.hpp>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "replication/replica_wire.hpp"

namespace keel {
FrameSocket::~FrameSocket() { close(); }

FrameSocket& FrameSocket::operator=(FrameSocket&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

FrameSocket FrameSocket::connect(const std::string& host, int32_t port, int64_t timeout_ms) {
  const std::string where = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0)
    fail(KEEL_ERR_UNAVAILABLE, "cannot resolve replication address " + where + ": " + gai_strerror(rc));
  std::string last = "no address";
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      last = errno_text(errno);
      continue;
    }
    FrameSocket s(fd);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = errno_text(errno);
      continue;
    }
    try {
      s.wait_for(POLLOUT, monotonic_ms() + timeout_ms, "connecting");
    } catch (const Error& e) {
      last = e.what();
      continue;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      last = errno_text(err);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::freeaddrinfo(res);
    return s;
  }
  ::freeaddrinfo(res);
  fail(KEEL_ERR_UNAVAILABLE, "cannot connect to the replication listener at " + where + ": " + last);
}

void FrameSocket::wait_for(short events, int64_t deadline_ms, const char* what) {
  while (true) {
    if (fd_ < 0) fail(KEEL_ERR_UNAVAILABLE, std::string("replication connection closed while ") + what);
    const int64_t left = deadline_ms - monotonic_ms();
    if (left <= 0) fail(KEEL_ERR_UNAVAILABLE, std::string("replication connection timed out while ") + what);
    pollfd p{fd_, events, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1 << 30)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0)
      fail(KEEL_ERR_UNAVAILABLE, std::string("poll failed while ") + what + ": " + errno_text(errno));
    if (rc == 0) continue;
    if ((p.revents & events) != 0) return;
    if ((p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
      fail(KEEL_ERR_UNAVAILABLE, std::string("replication connection closed by the peer while ") + what);
    }
  }
}

void FrameSocket::send_frame(const std::string& payload, int64_t timeout_ms) {
  if (payload.size() > static_cast<size_t>(kMaxReplicaFrame)) {
    fail(KEEL_ERR_CORRUPT, "replication frame of " + std::to_string(payload.size()) +
                               " bytes exceeds the limit of " + std::to_string(kMaxReplicaFrame) +
                               "; not sent");
  }
  const int64_t deadline = monotonic_ms() + timeout_ms;
  uint8_t head[4];
  batch::detail::store_be(head, static_cast<int32_t>(payload.size()));
  std::string frame(reinterpret_cast<const char*>(head), 4);
  frame += payload;
  size_t sent = 0;
  while (sent < frame.size()) {
    wait_for(POLLOUT, deadline, "sending");
    const ssize_t n = ::send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) fail(KEEL_ERR_UNAVAILABLE, "replication send failed: " + errno_text(errno));
    sent += static_cast<size_t>(n);
  }
}

std::string FrameSocket::recv_frame(int64_t timeout_ms) {
  const int64_t deadline = monotonic_ms() + timeout_ms;
  auto read_exact = [&](char* out, size_t len) {
    size_t got = 0;
    while (got < len) {
      wait_for(POLLIN, deadline, "receiving");
      const ssize_t n = ::recv(fd_, out + got, len - got, 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n == 0) fail(KEEL_ERR_UNAVAILABLE, "replication connection closed by the peer");
      if (n < 0) fail(KEEL_ERR_UNAVAILABLE, "replication receive failed: " + errno_text(errno));
      got += static_cast<size_t>(n);
    }
  };
  uint8_t head[4];
  read_exact(reinterpret_cast<char*>(head), 4);
  const auto len = batch::detail::load_be<int32_t>(head);
  if (len < 0 || len > kMaxReplicaFrame) {
    fail(KEEL_ERR_CORRUPT, "replication frame of " + std::to_string(len) + " bytes (the limit is " +
                               std::to_string(kMaxReplicaFrame) +
                               "): not a Keel broker, or a damaged stream");
  }
  std::string payload(static_cast<size_t>(len), '\0');
  read_exact(payload.data(), payload.size());
  return payload;
}

void FrameSocket::shutdown() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void FrameSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

FrameListener::~FrameListener() { close(); }

int32_t FrameListener::listen(const std::string& host, int32_t port) {
  const std::string where = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  const int rc =
      ::getaddrinfo(host.empty() ? nullptr : host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0)
    fail(KEEL_ERR_UNAVAILABLE,
         "cannot resolve [cluster] replication_listen " + where + ": " + gai_strerror(rc));
  const int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  if (fd >= 0) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 64) != 0) {
    const int e = errno;
    ::freeaddrinfo(res);
    if (fd >= 0) ::close(fd);
    fail(KEEL_ERR_UNAVAILABLE, "cannot listen for replication on " + where +
                                   " ([cluster] replication_listen): " + errno_text(e) +
                                   "; pick a free port or another address");
  }
  ::freeaddrinfo(res);
  fd_ = fd;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

int FrameListener::accept(int64_t timeout_ms) {
  if (fd_ < 0) return -1;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout_ms)) <= 0) return -1;
  const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd >= 0) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

void FrameListener::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace keel
