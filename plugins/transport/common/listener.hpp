// The listening socket of a transport and its accept loop, bounded:
//  - at most `max_connections` open connections: one more is accepted and
//    closed at once (counted in keel_connections_rejected_total, logged
//    rate-limited), so the client learns it at once instead of hanging;
//  - when accept fails (EMFILE/ENFILE when descriptors run out, ENOBUFS,
//    ...) the loop waits, 10 ms at first and doubling up to 1 s, instead of
//    retrying at once; one warning starts the episode, one line ends it with
//    the count (and a reminder each minute in between). Connections waiting
//    in the kernel's backlog meanwhile are served once descriptors free up.
//    No spare descriptor is kept to accept-and-close them: waiting in the
//    backlog is better for a client than a reset while the limit is hit.
//
// Threads: the acceptor, the back-off timer and the episode state belong to
// the listener's strand; Tickets may be dropped on any thread.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <functional>
#include <keel/broker.hpp>
#include <keel/plugin.hpp>
#include <memory>
#include <string>

#include "common/log_limiter.hpp"

namespace keel::transport {

// The open connections of one listener, published as keel_open_connections.
class ConnectionCount {
 public:
  ConnectionCount(const keel_broker_api* api, sdk::Labels labels) : api_(api), labels_(std::move(labels)) {}
  int64_t open() const { return open_.load(); }
  void add(int64_t delta);

 private:
  const keel_broker_api* api_;
  const sdk::Labels labels_;
  std::atomic<int64_t> open_{0};
};

// Held by a connection while its socket is open; counts it in the listener's
// ConnectionCount. reset() when the socket closes.
class Ticket {
 public:
  Ticket() = default;
  explicit Ticket(std::shared_ptr<ConnectionCount> count) : count_(std::move(count)) { count_->add(1); }
  Ticket(Ticket&&) noexcept = default;
  Ticket& operator=(Ticket&& o) noexcept {
    reset();
    count_ = std::move(o.count_);
    return *this;
  }
  ~Ticket() { reset(); }
  void reset() {
    if (count_) count_->add(-1);
    count_.reset();
  }

 private:
  std::shared_ptr<ConnectionCount> count_;
};

class Listener {
 public:
  // Receives each accepted socket (its executor is a new strand) and the
  // ticket to hold while it is open. Runs on the listener's strand.
  using Accepted = std::function<void(boost::asio::ip::tcp::socket, Ticket)>;

  // `listener`: when a transport has several listeners, each one's name,
  // added to its metrics as the label listener="..." ("" for none).
  Listener(boost::asio::io_context& io, const sdk::Host& host, const keel_broker_api* api,
           std::string transport, int64_t max_connections, LogLimiter& client_log,
           const std::string& listener = "");

  // Binds and listens; returns the bound port. Throws sdk::Error naming the
  // address and `table` (e.g. "[transports.kafka]") to change.
  uint16_t open(const std::string& host, uint16_t port, const std::string& table);
  void start(Accepted on_accept);
  // Stops accepting (posted to the strand; safe from any thread).
  void close();

 private:
  void accept();
  void on_error(const boost::system::error_code& ec);
  void on_success();

  boost::asio::io_context& io_;
  const sdk::Host host_;
  const keel_broker_api* api_;
  const std::string transport_;
  const sdk::Labels labels_;
  const int64_t max_connections_;
  LogLimiter& client_log_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  std::shared_ptr<ConnectionCount> count_;
  Accepted on_accept_;
  // The current episode of failing accepts (0 failures: none).
  int64_t failures_ = 0;
  int64_t episode_start_ns_ = 0;
  int64_t last_report_ns_ = 0;
};

}  // namespace keel::transport
