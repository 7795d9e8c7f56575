#include "server.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <condition_variable>
#include <keel/thread_name.hpp>

#include "services.hpp"
#include "session.hpp"

namespace keel::web {
namespace asio = boost::asio;

Server::Server(Services& services, const Router& router)
    : services_(services),
      router_(router),
      listener_(services.io, services.host, services.broker.raw(), "http",
                services.settings.limits.max_connections, services.client_log) {}

Server::~Server() { stop(); }

void Server::start() {
  const auto& s = services_.settings;
  if (s.tls) {
    tls_ = std::make_unique<transport::TlsContext>(
        s.tls_settings, "[transports.http]", [this](const std::string& m) { services_.host.warn(m); },
        [this](const std::string& m) { services_.host.info(m); });
  }
  const uint16_t bound = listener_.open(s.listen_host, s.listen_port, "[transports.http]");
  services_.bound_port = bound;
  // Other brokers name this listener in their 421 answers and GET /cluster.
  services_.broker.sdk().advertise_listener("http", s.listen_host, bound);
  services_.host.info(std::string(s.tls ? "HTTPS" : "HTTP") + " listening on " + s.listen_host + ":" +
                      std::to_string(bound) +
                      (s.authentication == "basic" ? " (Basic authentication)" : " (no authentication)"));
  work_.emplace(services_.io.get_executor());
  listener_.start([this](asio::ip::tcp::socket socket, transport::Ticket ticket) {
    accepted(std::move(socket), std::move(ticket));
  });
  for (int i = 0; i < s.threads; ++i) {
    threads_.emplace_back([this, i] {
      keel::name_this_thread("http-" + std::to_string(i));
      services_.io.run();
    });
  }
}

void Server::accepted(asio::ip::tcp::socket socket, transport::Ticket ticket) {
  auto session = std::make_shared<Session>(services_, router_, std::move(socket), std::move(ticket),
                                           tls_ ? tls_->current() : nullptr);
  {
    std::lock_guard lock(mu_);
    std::erase_if(sessions_, [](const std::weak_ptr<Session>& w) { return w.expired(); });
    sessions_.push_back(session);
  }
  session->start();
}

void Server::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  listener_.close();
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
