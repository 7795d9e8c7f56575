// Accepts TCP connections and runs the I/O threads of the Kafka transport.
// Threads: `settings.threads` threads run Services::io; each connection is
// served on its own strand, so one connection's work is never concurrent.
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

  Services& services_;
  // One per settings.listeners entry, in that order.
  std::vector<std::unique_ptr<transport::Listener>> listeners_;
  std::unique_ptr<transport::TlsContext> tls_;  // shared by the SSL and SASL_SSL listeners
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::vector<std::weak_ptr<Connection>> connections_;
  bool stopped_ = false;
};

}  // namespace keel::kafka
