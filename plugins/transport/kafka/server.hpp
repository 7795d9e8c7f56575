// Accepts TCP connections and runs the I/O threads of the Kafka transport.
//
// Threads: one thread runs Services::io (the listeners and the group
// coordinator); `settings.threads` threads each run their own event loop
// (an io_context with its own epoll), as Kafka's network processors do. A
// connection is handed to the least busy loop when accepted and stays
// there, served on its own strand, so a request is read, handled and
// answered on one thread. One io_context run by several threads cost each
// request a hand-off between them (about 15 us at window 1 on the
// reference VM; docs/performance.md, "One event loop per thread, and the
// sync on it").
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/listener.hpp"
#include "common/tls_context.hpp"
#include "loop_activity.hpp"

namespace keel::kafka {

class Connection;
class Services;

class Server {
 public:
  explicit Server(Services& services);
  ~Server();
  // Binds and starts the threads; throws sdk::Error when the address is taken.
  void start();
  // Closes the listener and every connection, then joins the threads.
  void stop();

 private:
  void accepted(boost::asio::ip::tcp::socket socket, transport::Ticket ticket, size_t listener);

  struct Loop {
    // Before io: handlers io destroys may hold the last reference to a
    // connection, whose destructor counts itself out here.
    LoopActivity activity;
    boost::asio::io_context io{1};
    uint64_t requests_seen = 0;  // activity.requests at the last accept; mu_
  };
  // The loop for a new connection: the one that served the fewest requests
  // since the last accept, then the one with the fewest connections, then
  // round robin. Round robin alone would put every librdkafka client's
  // data connection on one of two loops and its bootstrap connection,
  // accepted just before, on the other.
  Loop& next_loop();

  Services& services_;
  std::vector<std::unique_ptr<Loop>> loops_;  // settings.threads of them
  size_t next_loop_ = 0;                      // mu_
  // One per settings.listeners entry, in that order.
  std::vector<std::unique_ptr<transport::Listener>> listeners_;
  std::unique_ptr<transport::TlsContext> tls_;  // shared by the SSL and SASL_SSL listeners
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::vector<std::weak_ptr<Connection>> connections_;
  bool stopped_ = false;
};

}  // namespace keel::kafka
