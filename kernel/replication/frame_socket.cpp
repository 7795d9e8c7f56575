#include "replication/frame_socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
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
    in_ = std::move(o.in_);
    in_begin_ = o.in_begin_;
    in_end_ = o.in_end_;
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

size_t FrameSocket::send_once(const uint8_t* head, const std::string& payload, size_t sent) {
  constexpr size_t kHead = 4;
  while (true) {
    if (fd_ < 0) fail(KEEL_ERR_UNAVAILABLE, "replication connection closed while sending");
    iovec iov[2];
    int n_iov = 0;
    if (sent < kHead) iov[n_iov++] = {const_cast<uint8_t*>(head) + sent, kHead - sent};
    const size_t from = sent < kHead ? 0 : sent - kHead;
    if (from < payload.size())
      iov[n_iov++] = {const_cast<char*>(payload.data()) + from, payload.size() - from};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(n_iov);
    // The socket first: it almost always has room, and a poll before each
    // send would double the system calls.
    const ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (n <= 0) fail(KEEL_ERR_UNAVAILABLE, "replication send failed: " + errno_text(errno));
    return static_cast<size_t>(n);
  }
}

void FrameSocket::send_frame(const std::string& payload, int64_t timeout_ms, size_t from) {
  const int64_t deadline = monotonic_ms() + timeout_ms;
  for (size_t sent = send_now(payload, from); sent < 4 + payload.size(); sent = send_now(payload, sent)) {
    wait_for(POLLOUT, deadline, "sending");
  }
}

size_t FrameSocket::send_now(const std::string& payload, size_t from) {
  if (payload.size() > static_cast<size_t>(kMaxReplicaFrame)) {
    fail(KEEL_ERR_CORRUPT, "replication frame of " + std::to_string(payload.size()) +
                               " bytes exceeds the limit of " + std::to_string(kMaxReplicaFrame) +
                               "; not sent");
  }
  uint8_t head[4];
  batch::detail::store_be(head, static_cast<int32_t>(payload.size()));
  const size_t total = sizeof head + payload.size();
  size_t sent = from;
  while (sent < total) {
    const size_t n = send_once(head, payload, sent);
    if (n == 0) break;
    sent += n;
  }
  return sent;
}

FrameSocket::Ready FrameSocket::wait_readable(int wake_fd, int64_t timeout_ms) {
  if (in_end_ > in_begin_) return Ready::kReadable;
  const int64_t deadline = monotonic_ms() + timeout_ms;
  while (true) {
    if (fd_ < 0) fail(KEEL_ERR_UNAVAILABLE, "replication connection closed while waiting for a request");
    const int64_t left = std::max<int64_t>(0, deadline - monotonic_ms());
    pollfd p[2] = {{fd_, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    const int rc = ::poll(p, 2, static_cast<int>(std::min<int64_t>(left, 1 << 30)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) fail(KEEL_ERR_UNAVAILABLE, "poll failed while waiting for a request: " + errno_text(errno));
    // The wake first: an answer handed back must go out before anything
    // else can arrive (the follower waits for it).
    if (p[1].revents != 0) return Ready::kWoken;
    // A hang-up or error reads as readable: the receive that follows
    // reports it.
    if (p[0].revents != 0) return Ready::kReadable;
    if (rc == 0) return Ready::kTimedOut;
  }
}

size_t FrameSocket::recv_some(char* out, size_t len, int64_t deadline_ms) {
  while (true) {
    wait_for(POLLIN, deadline_ms, "receiving");
    const ssize_t n = ::recv(fd_, out, len, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
    if (n == 0) fail(KEEL_ERR_UNAVAILABLE, "replication connection closed by the peer");
    if (n < 0) fail(KEEL_ERR_UNAVAILABLE, "replication receive failed: " + errno_text(errno));
    return static_cast<size_t>(n);
  }
}

void FrameSocket::fill(int64_t deadline_ms) {
  static constexpr size_t kBuffer = 64 * 1024;
  if (in_.empty()) in_.resize(kBuffer);
  if (in_begin_ == in_end_) {
    in_begin_ = in_end_ = 0;
  } else if (in_end_ == in_.size()) {
    std::copy(in_.begin() + static_cast<std::ptrdiff_t>(in_begin_),
              in_.begin() + static_cast<std::ptrdiff_t>(in_end_), in_.begin());
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  in_end_ += recv_some(in_.data() + in_end_, in_.size() - in_end_, deadline_ms);
}

std::string FrameSocket::recv_frame(int64_t timeout_ms) {
  const int64_t deadline = monotonic_ms() + timeout_ms;
  while (in_end_ - in_begin_ < 4) fill(deadline);
  const auto len = batch::detail::load_be<int32_t>(reinterpret_cast<const uint8_t*>(in_.data() + in_begin_));
  if (len < 0 || len > kMaxReplicaFrame) {
    fail(KEEL_ERR_CORRUPT, "replication frame of " + std::to_string(len) + " bytes (the limit is " +
                               std::to_string(kMaxReplicaFrame) +
                               "): not a Keel broker, or a damaged stream");
  }
  in_begin_ += 4;
  std::string payload(static_cast<size_t>(len), '\0');
  const size_t buffered = std::min(payload.size(), in_end_ - in_begin_);
  std::copy_n(in_.data() + in_begin_, buffered, payload.data());
  in_begin_ += buffered;
  // The rest of a large frame goes straight into the payload.
  for (size_t got = buffered; got < payload.size();) {
    got += recv_some(payload.data() + got, payload.size() - got, deadline);
  }
  return payload;
}

void FrameSocket::shutdown() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void FrameSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  in_begin_ = in_end_ = 0;
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
