// keel-tcp-rtt: the loopback TCP round trip bench/compare divides latencies
// by. `serve` echoes on one connection; `ping` sends one small message at a
// time (TCP_NODELAY) and times each round trip. Two processes, so the script
// can pin them to different cores like the brokers and their clients.
//
//   keel-tcp-rtt serve            prints the port it listens on, then echoes
//   keel-tcp-rtt ping PORT N      N timed round trips after N/10 untimed ones
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "histogram.hpp"
#include "peer_report.hpp"

namespace {

constexpr size_t kMessage = 64;  // a small request, like a produce ack

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what + ": " + strerror(errno)); }

void no_delay(int fd) {
  const int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) fail("setsockopt TCP_NODELAY");
}

bool exchange(int fd, char* buf, bool send_first) {
  size_t got = 0;
  if (send_first && write(fd, buf, kMessage) != static_cast<ssize_t>(kMessage)) fail("write");
  while (got < kMessage) {
    const ssize_t n = read(fd, buf + got, kMessage - got);
    if (n == 0) return false;
    if (n < 0) fail("read");
    got += static_cast<size_t>(n);
  }
  if (!send_first && write(fd, buf, kMessage) != static_cast<ssize_t>(kMessage)) fail("write");
  return true;
}

int serve() {
  const int ls = socket(AF_INET, SOCK_STREAM, 0);
  if (ls < 0) fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("bind 127.0.0.1:0");
  if (listen(ls, 1) != 0) fail("listen");
  if (getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &len) != 0) fail("getsockname");
  printf("%d\n", ntohs(addr.sin_port));
  fflush(stdout);
  const int fd = accept(ls, nullptr, nullptr);
  if (fd < 0) fail("accept");
  close(ls);
  no_delay(fd);
  char buf[kMessage];
  while (exchange(fd, buf, false)) {
  }
  close(fd);
  return 0;
}

int ping(int port, long count) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    fail("connect 127.0.0.1:" + std::to_string(port));
  no_delay(fd);
  char buf[kMessage] = {};
  keel::load::LatencyHistogram rtt_ns;
  for (long i = -count / 10; i < count; ++i) {
    const uint64_t t0 = keel::peers::monotonic_ns();
    if (!exchange(fd, buf, true)) throw std::runtime_error("the echo server closed the connection");
    if (i >= 0) rtt_ns.record(keel::peers::monotonic_ns() - t0);
  }
  close(fd);
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1e3; };
  printf("tcp round trip (%zu B, loopback): %ld samples, us p50 %.1f p99 %.1f p99.9 %.1f mean %.1f\n",
         kMessage, count, us(rtt_ns.percentile(0.5)), us(rtt_ns.percentile(0.99)),
         us(rtt_ns.percentile(0.999)), rtt_ns.mean() / 1e3);
  printf(
      "{\"mode\":\"tcp-rtt\",\"bytes\":%zu,\"samples\":%ld,\"rtt_us\":{\"min\":%.1f,\"mean\":%.1f,\"p50\":%."
      "1f,"
      "\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f}}\n",
      kMessage, count, us(rtt_ns.min()), rtt_ns.mean() / 1e3, us(rtt_ns.percentile(0.5)),
      us(rtt_ns.percentile(0.99)), us(rtt_ns.percentile(0.999)), us(rtt_ns.max()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 2 && strcmp(argv[1], "serve") == 0) return serve();
    if (argc == 4 && strcmp(argv[1], "ping") == 0 && atoi(argv[2]) > 0 && atol(argv[3]) > 0) {
      return ping(atoi(argv[2]), atol(argv[3]));
    }
    fprintf(stderr, "usage: keel-tcp-rtt serve | keel-tcp-rtt ping PORT COUNT\n");
    return 2;
  } catch (const std::exception& e) {
    fprintf(stderr, "keel-tcp-rtt: %s\n", e.what());
    return 1;
  }
}
