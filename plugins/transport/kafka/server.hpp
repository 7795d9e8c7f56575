// Accepts TCP connections and runs the I/O threads of the Kafka transport.
//
// Threads: `settings.threads` threads, each running its own io_context (an
// event loop with its own epoll), as Kafka's network processors and
// Redpanda's shards do: thread 0 runs Services::io (the listeners, the
// group coordinator, and its share of connections), threads 1.. run one
// context each. A connection is handed to one loop when accepted, round
// robin, and stays there, served on its own strand, so its work is never
// concurrent and a request is read, handled and answered on one thread.
// One io_context run by several threads cost each request a hand-off
// between them (about 15 us at window 1 on this VM; docs/performance.md,
// "One event loop per thread").
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

  // The next connection's loop (round robin).
  boost::asio::io_context& next_loop();

  Services& services_;
  // The loops of threads 1..threads-1 (thread 0 runs Services::io).
  std::vector<std::unique_ptr<boost::asio::io_context>> loops_;
  size_t next_loop_ = 0;  // mu_
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
