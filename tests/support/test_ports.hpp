// Loopback ports for the processes a test starts (etcd), chosen as
// tests/integration/test_ports.py chooses them, and in the same registry.
//
// Why not bind port 0 and pass the number on: that picks from the kernel's
// ephemeral range, which every outgoing connection also takes its source
// port from; between the pick and the child's own bind, a client of a test
// running in parallel (ctest -j2) can take the port. Ports come from below
// that range instead, each reserved across processes (C++ and Python tests
// alike) by an exclusive flock on /tmp/keel-test-ports/<port>.lock, held
// until this process exits.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <string>

namespace keel::test {

// A free loopback port reserved for this process, or -1.
inline int free_loopback_port() {
  static std::mutex mu;
  static std::set<int> held;  // their lock files stay open until exit
  static std::mt19937 rng{std::random_device{}()};
  std::lock_guard lock(mu);
  int low_ephemeral = 32768;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low_ephemeral;
  const int high = std::max(low_ephemeral, 12000);
  const int low = std::max(10000, high - 20000);
  ::mkdir("/tmp/keel-test-ports", 0777);
  std::uniform_int_distribution<int> pick(low, high - 1);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = pick(rng);
    if (held.count(port)) continue;
    const std::string path = "/tmp/keel-test-ports/" + std::to_string(port) + ".lock";
    const int lock_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (lock_fd < 0) continue;
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(lock_fd);
      continue;
    }
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (fd >= 0) ::close(fd);
    if (!free) {
      ::close(lock_fd);  // drops the lock
      continue;
    }
    held.insert(port);
    return port;
  }
  return -1;
}

}  // namespace keel::test
