#include "common/listener.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>

namespace keel::transport {
namespace asio = boost::asio;

namespace {
constexpr int64_t kFirstBackoffMs = 10;
constexpr int64_t kMaxBackoffMs = 1000;
constexpr int64_t kReminderNs = 60LL * 1000000000;
}  // namespace

void ConnectionCount::add(int64_t delta) {
  const int64_t n = open_.fetch_add(delta) + delta;
  sdk::Broker(api_).gauge_set("keel_open_connections", labels_, static_cast<double>(n));
}

Listener::Listener(asio::io_context& io, const sdk::Host& host, const keel_broker_api* api,
                   std::string transport, int64_t max_connections, LogLimiter& client_log,
                   const std::string& listener)
    : io_(io),
      host_(host),
      api_(api),
      transport_(std::move(transport)),
      labels_(listener.empty() ? sdk::Labels{{"transport", transport_}}
                               : sdk::Labels{{"transport", transport_}, {"listener", listener}}),
      max_connections_(max_connections),
      client_log_(client_log),
      strand_(asio::make_strand(io)),
      acceptor_(strand_),
      backoff_(strand_),
      count_(std::make_shared<ConnectionCount>(api, labels_)) {}

uint16_t Listener::open(const std::string& host, uint16_t port, const std::string& table) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "transport '" + transport_ + "': listen host '" + host +
                                                    "' is not an IP address: " + ec.message());
  }
  asio::ip::tcp::endpoint ep(address, port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw sdk::Error(KEEL_ERR_UNAVAILABLE, "transport '" + transport_ + "': cannot listen on " + host + ":" +
                                               std::to_string(port) + ": " + ec.message() +
                                               "; is another broker running? change " + table + " listen");
  }
  return acceptor_.local_endpoint().port();
}

void Listener::start(Accepted on_accept) {
  on_accept_ = std::move(on_accept);
  asio::post(strand_, [this] { accept(); });
}

void Listener::close() {
  asio::post(strand_, [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
    backoff_.cancel();
  });
}

void Listener::accept() {
  if (!acceptor_.is_open()) return;
  acceptor_.async_accept(asio::make_strand(io_), [this](boost::system::error_code ec,
                                                        asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec == asio::error::connection_aborted) return accept();  // that client gave up; nothing to fix
    if (ec) return on_error(ec);
    on_success();
    const int64_t open = count_->open();
    if (open >= max_connections_) {
      boost::system::error_code ignored;
      auto peer = socket.remote_endpoint(ignored);
      socket.close(ignored);
      sdk::Broker(api_).counter_add("keel_connections_rejected_total", labels_, 1);
      client_log_.warn("closing new connection from " + peer.address().to_string() + ":" +
                       std::to_string(peer.port()) + ": " + std::to_string(open) +
                       " connections are open (max_connections = " + std::to_string(max_connections_) + ")");
    } else {
      on_accept_(std::move(socket), Ticket(count_));
    }
    accept();
  });
}

void Listener::on_error(const boost::system::error_code& ec) {
  const int64_t now = host_.monotonic_ns();
  sdk::Broker(api_).counter_add("keel_accept_errors_total", labels_, 1);
  if (failures_++ == 0) {
    episode_start_ns_ = last_report_ns_ = now;
    host_.warn("accept failed: " + ec.message() + " (" + std::to_string(count_->open()) +
               " connections open); retrying after " + std::to_string(kFirstBackoffMs) +
               " ms, backing off to " + std::to_string(kMaxBackoffMs) +
               " ms while it fails. Out of file descriptors? Raise the limit (ulimit -n, LimitNOFILE) or "
               "lower max_connections");
  } else if (now - last_report_ns_ >= kReminderNs) {
    last_report_ns_ = now;
    host_.warn("accept still failing: " + ec.message() + "; " + std::to_string(failures_) + " failures in " +
               std::to_string((now - episode_start_ns_) / 1000000000) + " s");
  }
  const int shift = static_cast<int>(std::min<int64_t>(failures_ - 1, 10));
  const int64_t delay_ms = std::min(kMaxBackoffMs, kFirstBackoffMs << shift);
  backoff_.expires_after(std::chrono::milliseconds(delay_ms));
  backoff_.async_wait([this](boost::system::error_code tec) {
    if (!tec) accept();
  });
}

void Listener::on_success() {
  if (failures_ == 0) return;
  host_.info("accept works again after " + std::to_string(failures_) + " failed attempts over " +
             std::to_string((host_.monotonic_ns() - episode_start_ns_) / 1000000) + " ms");
  failures_ = 0;
}

}  // namespace keel::transport
