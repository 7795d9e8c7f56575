#include "http_probe.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace keel::admin {

namespace {

using Clock = std::chrono::steady_clock;

int remaining(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on fd; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int n = ::poll(&p, 1, remaining(deadline));
    if (n < 0 && errno == EINTR) continue;
    return n > 0;
  }
}

// Headers and a Content-Length body all read.
bool complete(const std::string& response) {
  auto end = response.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  std::string headers = response.substr(0, end);
  for (char& c : headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto at = headers.find("\r\ncontent-length:");
  if (at == std::string::npos) return false;
  return response.size() - end - 4 >= std::strtoull(headers.c_str() + at + 17, nullptr, 10);
}

}  // namespace

HttpResult http_get(const std::string& host_port, const std::string& path, int timeout_ms) {
  HttpResult r;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == host_port.size()) {
    r.error = "'" + host_port + "' is not HOST:PORT";
    return r;
  }
  std::string host = host_port.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = host_port.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addrs = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &addrs); rc != 0) {
    r.error = "cannot resolve '" + host + "': " + gai_strerror(rc);
    return r;
  }
  int fd = -1;
  for (addrinfo* a = addrs; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    int err = errno;
    if (err == EINPROGRESS && wait_for(fd, POLLOUT, deadline)) {
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) break;
    } else if (err == EINPROGRESS) {
      err = ETIMEDOUT;
    }
    r.error = "connect to " + host_port + ": " + std::strerror(err);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(addrs);
  if (fd < 0) return r;

  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host_port +
                              "\r\nUser-Agent: keel-admin\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(fd, POLLOUT, deadline)) break;
    } else {
      break;
    }
  }
  std::string response;
  char buf[4096];
  while (sent == request.size() && response.size() < (1 << 20)) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      response.append(buf, static_cast<size_t>(n));
      if (complete(response)) break;  // a server that keeps the connection open
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!wait_for(fd, POLLIN, deadline)) break;
    } else {
      break;
    }
  }
  ::close(fd);
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) {
    r.error = sent < request.size()
                  ? "sending to " + host_port + " failed"
                  : "no HTTP answer from " + host_port + " within " + std::to_string(timeout_ms) + " ms";
    return r;
  }
  r.status = std::atoi(response.c_str() + 9);
  auto body = response.find("\r\n\r\n");
  if (body != std::string::npos) r.body = response.substr(body + 4);
  return r;
}

}  // namespace keel::admin
