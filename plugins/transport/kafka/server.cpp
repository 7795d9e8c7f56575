#include "server.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <condition_variable>

#include "connection.hpp"
#include "services.hpp"

namespace keel::kafka {
namespace asio = boost::asio;

Server::Server(Services& services)
    : services_(services),
      listener_(services.io, services.host, services.broker.raw(), "kafka",
                services.settings.limits.max_connections, services.client_log) {}

Server::~Server() { stop(); }

void Server::start() {
  const auto& s = services_.settings;
  if (s.sasl() && !services_.broker.has_sasl()) {
    throw sdk::Error(KEEL_ERR_UNSUPPORTED, "[transports.kafka] security_protocol = \"" + s.security_protocol +
                                               "\" needs a broker with SASL (ABI 2.4); this broker is older");
  }
  if (s.tls()) {
    // Before the port opens: a certificate that does not load fails the start.
    tls_ = std::make_unique<transport::TlsContext>(
        s.tls_settings, "[transports.kafka]", [this](const std::string& m) { services_.host.warn(m); },
        [this](const std::string& m) { services_.host.info(m); });
  }
  const uint16_t bound = listener_.open(s.listen_host, s.listen_port, "[transports.kafka]");
  services_.advertised_port = s.advertised_port > 0 ? s.advertised_port : bound;
  // Other brokers name this listener in their Metadata answers.
  services_.broker.advertise_listener("kafka", s.advertised_host, services_.advertised_port);
  const int32_t node = services_.node_id();
  if (s.node_id_set && s.node_id != node) {
    services_.host.warn("[transports.kafka] node_id = " + std::to_string(s.node_id) +
                        " differs from this broker's id in the cluster, " + std::to_string(node) +
                        ": Kafka clients are told " + std::to_string(node) +
                        " (the cluster's broker id wins; node_id applies only to a broker without a cluster "
                        "view, ABI < 2.3); remove node_id from [transports.kafka]");
  }
  std::string security = s.security_protocol;
  if (s.tls()) security += ", TLS client certificates " + s.tls_settings.client_auth;
  if (s.sasl()) {
    security += ", SASL mechanisms";
    for (const auto& m : s.sasl_mechanisms) security += " " + m;
  }
  services_.host.info("Kafka protocol listening on " + s.listen_host + ":" + std::to_string(bound) +
                      " (advertised as " + s.advertised_host + ":" +
                      std::to_string(services_.advertised_port) + ", node id " + std::to_string(node) + "; " +
                      security + ")");
  work_.emplace(services_.io.get_executor());
  listener_.start([this](asio::ip::tcp::socket socket, transport::Ticket ticket) {
    accepted(std::move(socket), std::move(ticket));
  });
  for (int i = 0; i < s.threads; ++i) threads_.emplace_back([this] { services_.io.run(); });
}

void Server::accepted(asio::ip::tcp::socket socket, transport::Ticket ticket) {
  auto conn = std::make_shared<Connection>(services_, std::move(socket), std::move(ticket),
                                           asio::make_strand(services_.io), tls_ ? tls_->current() : nullptr);
  {
    std::lock_guard lock(mu_);
    std::erase_if(connections_, [](const std::weak_ptr<Connection>& w) { return w.expired(); });
    connections_.push_back(conn);
  }
  conn->start();
}

void Server::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  listener_.close();
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
