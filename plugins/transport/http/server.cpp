#include "server.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <condition_variable>

#include "services.hpp"
#include "session.hpp"

namespace keel::web {
namespace asio = boost::asio;

Server::Server(Services& services, const Router& router)
    : services_(services), router_(router), acceptor_(services.io) {}

Server::~Server() { stop(); }

void Server::start() {
  const auto& s = services_.settings;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(s.listen_host, ec);
  if (ec) {
    throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "transport 'http': listen host '" + s.listen_host +
                                                    "' is not an IP address: " + ec.message());
  }
  asio::ip::tcp::endpoint ep(address, s.listen_port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw sdk::Error(KEEL_ERR_UNAVAILABLE,
                     "transport 'http': cannot listen on " + s.listen_host + ":" +
                         std::to_string(s.listen_port) + ": " + ec.message() +
                         "; is another broker running? change [transports.http] listen");
  }
  services_.host.info("HTTP listening on " + s.listen_host + ":" +
                      std::to_string(acceptor_.local_endpoint().port()));
  work_.emplace(services_.io.get_executor());
  accept();
  for (int i = 0; i < s.threads; ++i) threads_.emplace_back([this] { services_.io.run(); });
}

void Server::accept() {
  acceptor_.async_accept(
      asio::make_strand(services_.io), [this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        if (!ec) {
          auto session = std::make_shared<Session>(services_, router_, std::move(socket));
          {
            std::lock_guard lock(mu_);
            std::erase_if(sessions_, [](const std::weak_ptr<Session>& w) { return w.expired(); });
            sessions_.push_back(session);
          }
          session->start();
        } else {
          services_.host.warn("HTTP accept failed: " + ec.message());
        }
        accept();
      });
}

void Server::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  asio::post(services_.io, [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(mu_);
    for (auto& w : sessions_) {
      if (auto s = w.lock()) sessions.push_back(s);
    }
  }
  // Close every session on its strand and wait (bounded) for it: a session
  // in a long poll must unregister its broker watches before the threads go.
  struct Pending {
    std::mutex mu;
    std::condition_variable cv;
    size_t left = 0;
  };
  auto pending = std::make_shared<Pending>();
  pending->left = sessions.size();
  for (auto& s : sessions) {
    asio::post(s->executor(), [s, pending] {
      s->close();
      std::lock_guard lock(pending->mu);
      if (--pending->left == 0) pending->cv.notify_all();
    });
  }
  if (!threads_.empty()) {
    std::unique_lock lock(pending->mu);
    pending->cv.wait_for(lock, std::chrono::seconds(5), [&] { return pending->left == 0; });
  }
  work_.reset();
  services_.io.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace keel::web
