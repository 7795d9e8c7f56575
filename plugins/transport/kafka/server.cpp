#include "server.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <condition_variable>
#include <keel/thread_name.hpp>

#include "connection.hpp"
#include "services.hpp"

namespace keel::kafka {
namespace asio = boost::asio;

Server::Server(Services& services) : services_(services) {
  const auto& all = services.settings.listeners;
  for (const auto& l : all) {
    // With one listener the metrics keep their labels as they always were.
    listeners_.push_back(std::make_unique<transport::Listener>(
        services.io, services.host, services.broker.raw(), "kafka", services.settings.limits.max_connections,
        services.client_log, all.size() > 1 ? l.security_protocol : ""));
  }
}

Server::~Server() { stop(); }

void Server::start() {
  const auto& s = services_.settings;
  if (s.any_sasl() && !services_.broker.has_sasl()) {
    throw sdk::Error(
        KEEL_ERR_UNSUPPORTED,
        "[transports.kafka] a SASL listener needs a broker with SASL (ABI 2.4); this broker is older");
  }
  if (s.any_tls()) {
    // Before the ports open: a certificate that does not load fails the start.
    tls_ = std::make_unique<transport::TlsContext>(
        s.tls_settings, "[transports.kafka]", [this](const std::string& m) { services_.host.warn(m); },
        [this](const std::string& m) { services_.host.info(m); });
  }
  const int32_t node = services_.node_id();
  if (s.node_id_set && s.node_id != node) {
    services_.host.warn("[transports.kafka] node_id = " + std::to_string(s.node_id) +
                        " differs from this broker's id in the cluster, " + std::to_string(node) +
                        ": Kafka clients are told " + std::to_string(node) +
                        " (the cluster's broker id wins; node_id applies only to a broker without a cluster "
                        "view, ABI < 2.3); remove node_id from [transports.kafka]");
  }
  services_.advertised_ports.assign(s.listeners.size(), 0);
  for (size_t i = 0; i < s.listeners.size(); ++i) {
    const ListenerSpec& l = s.listeners[i];
    const uint16_t bound = listeners_[i]->open(l.host, l.port, "[transports.kafka]");
    const int32_t advertised = l.advertised_port > 0 ? l.advertised_port : bound;
    services_.advertised_ports[i] = advertised;
    if (i == 0) services_.advertised_port = advertised;
    // Other brokers name this listener in their Metadata answers to clients
    // that came in through the same one.
    services_.broker.advertise_listener(l.cluster_name, l.advertised_host, advertised);
    std::string security = l.security_protocol;
    if (l.tls()) security += ", TLS client certificates " + s.tls_settings.client_auth;
    if (l.sasl()) {
      security += ", SASL mechanisms";
      for (const auto& m : s.sasl_mechanisms) security += " " + m;
    }
    services_.host.info("Kafka protocol listening on " + l.host + ":" + std::to_string(bound) +
                        " (advertised as " + l.advertised_host + ":" + std::to_string(advertised) +
                        ", node id " + std::to_string(node) + "; " + security + ")");
  }
  for (int i = 0; i < s.threads; ++i) loops_.push_back(std::make_unique<Loop>());
  work_.emplace_back(services_.io.get_executor());
  for (auto& loop : loops_) work_.emplace_back(loop->io.get_executor());
  for (size_t i = 0; i < listeners_.size(); ++i) {
    listeners_[i]->start([this, i](asio::ip::tcp::socket socket, transport::Ticket ticket) {
      accepted(std::move(socket), std::move(ticket), i);
    });
  }
  threads_.emplace_back([this] {
    keel::name_this_thread("kafka-services");
    services_.io.run();
  });
  for (size_t i = 0; i < loops_.size(); ++i) {
    threads_.emplace_back([l = loops_[i].get(), i] {
      keel::name_this_thread("kafka-loop-" + std::to_string(i));
      l->io.run();
    });
  }
}

Server::Loop& Server::next_loop() {
  std::lock_guard lock(mu_);
  const size_t n = loops_.size();
  const size_t first = next_loop_++ % n;
  Loop* best = nullptr;
  uint64_t best_recent = 0;
  int64_t best_connections = 0;
  for (size_t k = 0; k < n; ++k) {
    Loop& loop = *loops_[(first + k) % n];
    const uint64_t total = loop.activity.requests.load(std::memory_order_relaxed);
    const uint64_t recent = total - loop.requests_seen;
    loop.requests_seen = total;
    const int64_t connections = loop.activity.connections.load(std::memory_order_relaxed);
    if (best == nullptr || recent < best_recent ||
        (recent == best_recent && connections < best_connections)) {
      best = &loop;
      best_recent = recent;
      best_connections = connections;
    }
  }
  return *best;
}

void Server::accepted(asio::ip::tcp::socket socket, transport::Ticket ticket, size_t listener) {
  const bool tls = services_.settings.listeners[listener].tls();
  Loop& loop = next_loop();
  // The listener accepted it on Services::io: register it with its loop's
  // epoll instead, so that its readiness wakes that loop's thread alone.
  boost::system::error_code ec;
  const auto protocol = socket.local_endpoint(ec).protocol();
  asio::ip::tcp::socket homed(loop.io);
  asio::ip::tcp::socket::native_handle_type fd = -1;
  if (!ec) fd = socket.release(ec);
  if (!ec) homed.assign(protocol, fd, ec);
  if (ec) {
    // The peer is gone already (or out of descriptors): it goes, with its
    // ticket.
    if (fd >= 0) ::close(fd);
    return;
  }
  auto conn =
      std::make_shared<Connection>(services_, std::move(homed), std::move(ticket), asio::make_strand(loop.io),
                                   tls ? tls_->current() : nullptr, listener, &loop.activity);
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
  for (auto& l : listeners_) l->close();
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
  work_.clear();
  services_.io.stop();
  for (auto& loop : loops_) loop->io.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace keel::kafka
