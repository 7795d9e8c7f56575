// One HTTP/1.1 connection: reads a request (headers first, so that an
// oversized body is refused before it is read, and `Expect: 100-continue`
// is honoured), hands it to the router, writes the answer, and repeats while
// the client keeps the connection alive. Everything runs on the
// connection's strand; one request is handled at a time.
//
// Bounded: between requests the connection may sit idle for idle_timeout_ms;
// from a request's first byte its headers must arrive within
// header_timeout_ms (slowloris); its body is reserved from the broker-wide
// budget (queued_max_request_bytes; reading waits, without a deadline, while
// it is spent) and must then arrive within request_timeout_ms.
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/listener.hpp"
#include "common/request_memory.hpp"
#include "common/tls_context.hpp"
#include "exchange.hpp"

namespace keel::web {

class Router;
class Services;

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `tls`: the listener's TLS context when [transports.http] tls = true.
  Session(Services& services, const Router& router, boost::asio::ip::tcp::socket socket,
          transport::Ticket ticket, std::shared_ptr<boost::asio::ssl::context> tls = nullptr);

  void start();
  // On the strand: ends a pending request's wait and closes the socket.
  void close();
  boost::asio::any_io_executor executor() { return stream_.get_executor(); }

 private:
  void read_header();
  void on_first_bytes(boost::beast::error_code ec, size_t n);
  void read_header_rest();
  void on_header(boost::beast::error_code ec);
  void reserve_and_read_body();
  void read_body();
  void on_body(boost::beast::error_code ec);
  void handle();
  // With authentication = "basic": whether `path` needs credentials.
  bool needs_credentials(const std::vector<std::string>& path) const;
  void send(Response r);
  void on_written(boost::beast::error_code ec, bool keep_alive);
  // Answers a request that cannot be read (too large, malformed) and closes
  // after draining what the client still sends, so it sees the answer.
  void refuse(bhttp::status status, const std::string& code, const std::string& message);
  void drain();
  // A request that is not HTTP: counted, logged rate-limited, answered 400.
  void malformed(const std::string& message);
  // Closes for a deadline `key` (ms) the client missed: counted, logged.
  void time_out(const char* reason, const std::string& what, int64_t ms, const char* key);

  // Runs `fn` with the byte stream: TLS over stream_, or stream_ itself.
  // Deadlines (expires_after) always act on stream_, below TLS.
  template <class Fn>
  void on_stream(Fn&& fn) {
    if (tls_) {
      fn(*tls_);
    } else {
      fn(stream_);
    }
  }

  using TlsStream = boost::asio::ssl::stream<boost::beast::tcp_stream&>;
  Services& services_;
  const Router& router_;
  boost::beast::tcp_stream stream_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;  // kept alive for tls_
  std::unique_ptr<TlsStream> tls_;                          // null: plain HTTP
  transport::Ticket ticket_;                                // counts this connection while open
  std::string peer_;                                        // address:port, for messages
  std::string peer_address_;                                // the client's address, for the authorizer
  boost::asio::steady_timer memory_timer_;                  // retry while the budget is spent
  transport::Reservation memory_;                           // the current request's body
  int memory_retries_ = 0;
  boost::beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  ExchangePtr current_;
  std::string route_;
  int64_t started_ns_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool closed_ = false;
  std::shared_ptr<std::array<char, 65536>> scratch_;
};

}  // namespace keel::web
