// A real etcd (Debian's etcd-server) for tests: its own temp data dir and
// free loopback ports (never the 2379/2380 of a system etcd), started as a
// child process, waited for by polling it with a deadline, killed at the
// end; it can be paused (SIGSTOP) and restarted on the same ports and data
// dir. If etcd is not installed, start() fails with a message saying how to
// install it: tests that need etcd fail rather than skip.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/etcd/etcd_client.hpp"
#include "support/temp_dir.hpp"
#include "support/test_ports.hpp"

namespace keel::test {

inline std::string find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const auto candidate = std::filesystem::path(dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

class EtcdProcess {
 public:
  EtcdProcess() = default;
  ~EtcdProcess() { kill(); }
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  // Empty on success, else why etcd is not there.
  std::string start() {
    client_port_ = free_loopback_port();
    peer_port_ = free_loopback_port();
    if (client_port_ < 0 || peer_port_ < 0) return "no free loopback port";
    return launch();
  }

  // Kills etcd and starts it again on the same ports and data dir (what it
  // stored survives); empty on success.
  std::string restart() {
    kill();
    return launch();
  }

  // SIGSTOP / SIGCONT: etcd keeps its connections but answers nothing.
  void pause() {
    if (pid_ > 0) ::kill(pid_, SIGSTOP);
  }
  void resume() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
  }

  void kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }
  std::string log_path() const { return dir_.sub("etcd.log"); }
  std::string log_tail() const {
    std::ifstream in(log_path());
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
  }

 private:
  std::string launch() {
    const std::string etcd = find_on_path("etcd");
    if (etcd.empty()) {
      return "etcd is not installed (no etcd on PATH): run scripts/install-deps.sh as root "
             "(Debian package etcd-server)";
    }
    const std::string client_url = "http://127.0.0.1:" + std::to_string(client_port_);
    const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_port_);
    std::vector<std::string> args = {etcd,
                                     "--name=keel-test",
                                     "--data-dir=" + dir_.sub("data"),
                                     "--listen-client-urls=" + client_url,
                                     "--advertise-client-urls=" + client_url,
                                     "--listen-peer-urls=" + peer_url,
                                     "--initial-advertise-peer-urls=" + peer_url,
                                     "--initial-cluster=keel-test=" + peer_url,
                                     "--unsafe-no-fsync",
                                     "--log-outputs=stderr"};
    const std::string log = log_path();
    // Appended to, so that a restarted etcd's log follows the first one's.
    pid_ = ::fork();
    if (pid_ < 0) return "fork failed";
    if (pid_ == 0) {
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (out >= 0) {
        ::dup2(out, 1);
        ::dup2(out, 2);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    // Ready once it serves a read; polled (no fixed sleep) until a deadline.
    const keel::etcd::EtcdClient probe({endpoint()}, std::chrono::milliseconds(500));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "etcd exited at start; its log (" + log + "):\n" + log_tail();
      }
      try {
        probe.range("keel-test-probe");
        return {};
      } catch (const keel::etcd::EtcdError&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval
      }
    }
    return "etcd did not answer on " + endpoint() + " within 30 s; its log:\n" + log_tail();
  }

  TempDir dir_{"keel-etcd"};
  int client_port_ = -1;
  int peer_port_ = -1;
  pid_t pid_ = -1;
};

}  // namespace keel::test
