#include "server.hpp"

#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <boost/asio/strand.hpp>

#include "connection.hpp"
#include "services.hpp"

namespace keel::kafka {
namespace asio = boost::asio;

Server::Server(Services& services) : services_(services), acceptor_(services.io) {}

Server::~Server() { stop(); }

void Server::start() {
  const auto& s = services_.settings;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(s.listen_host, ec);
  if (ec) {
    throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT,
                     "transport 'kafka': listen host '" + s.listen_host + "' is not an IP address: " + ec.message());
  }
  asio::ip::tcp::endpoint ep(address, s.listen_port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw sdk::Error(KEEL_ERR_UNAVAILABLE, "transport 'kafka': cannot listen on " + s.listen_host + ":" +
                                               std::to_string(s.listen_port) + ": " + ec.message() +
                                               "; is another broker running? change [transports.kafka] listen");
  }
  const uint16_t bound = acceptor_.local_endpoint().port();
  services_.advertised_port = s.advertised_port > 0 ? s.advertised_port : bound;
  services_.host.info("Kafka protocol listening on " + s.listen_host + ":" + std::to_string(bound) +
                      " (advertised as " + s.advertised_host + ":" + std::to_string(services_.advertised_port) +
                      ", node id " + std::to_string(s.node_id) + ")");
  work_.emplace(services_.io.get_executor());
  accept();
  for (int i = 0; i < s.threads; ++i) threads_.emplace_back([this] { services_.io.run(); });
}

void Server::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      auto conn = std::make_shared<Connection>(services_, std::move(socket), asio::make_strand(services_.io));
      {
        std::lock_guard lock(mu_);
        std::erase_if(connections_, [](const std::weak_ptr<Connection>& w) { return w.expired(); });
        connections_.push_back(conn);
      }
      services_.connection_opened();
      conn->start();
    } else {
      services_.host.warn("accept failed: " + ec.message());
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
  std::vector<std::shared_ptr<Connection>> conns;
  {
    std::lock_guard lock(mu_);
    for (auto& w : connections_) {
      if (auto c = w.lock()) conns.push_back(c);
    }
  }
  // Close every connection on its strand and wait (bounded) for it, so that
  // no handler is half-way through when the threads stop.
  struct Pending {
    std::mutex mu;
    std::condition_variable cv;
    size_t left;
  };
  auto pending = std::make_shared<Pending>();
  pending->left = conns.size();
  for (auto& c : conns) {
    asio::post(c->strand(), [c, pending] {
      c->close("");
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

}  // namespace keel::kafka
