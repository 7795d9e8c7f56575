// Accepts TCP connections and runs the I/O threads of the HTTP transport:
// `settings.threads` threads run Services::io; each connection is served on
// its own strand.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/listener.hpp"
#include "common/tls_context.hpp"

namespace keel::web {

class Router;
class Services;
class Session;

class Server {
 public:
  Server(Services& services, const Router& router);
  ~Server();
  // Binds and starts the threads; throws sdk::Error when the address is taken.
  void start();
  // Closes the listener and every connection (ending their long polls), then
  // joins the threads.
  void stop();

 private:
  void accepted(boost::asio::ip::tcp::socket socket, transport::Ticket ticket);

  Services& services_;
  const Router& router_;
  transport::Listener listener_;
  std::unique_ptr<transport::TlsContext> tls_;  // tls = true
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::vector<std::weak_ptr<Session>> sessions_;
  bool stopped_ = false;
};

}  // namespace keel::web
