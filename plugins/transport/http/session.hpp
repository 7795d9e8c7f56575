// One HTTP/1.1 connection: reads a request (headers first, so that an
// oversized body is refused before it is read, and `Expect: 100-continue`
// is honoured), hands it to the router, writes the answer, and repeats while
// the client keeps the connection alive. Everything runs on the
// connection's strand; one request is handled at a time.
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "exchange.hpp"

namespace keel::web {

class Router;
class Services;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Services& services, const Router& router, boost::asio::ip::tcp::socket socket);
  ~Session();

  void start();
  // On the strand: ends a pending request's wait and closes the socket.
  void close();
  boost::asio::any_io_executor executor() { return stream_.get_executor(); }

 private:
  void read_header();
  void on_header(boost::beast::error_code ec);
  void on_body(boost::beast::error_code ec);
  void handle();
  void send(Response r);
  void on_written(boost::beast::error_code ec, bool keep_alive);
  // Answers a request that cannot be read (too large, malformed) and closes
  // after draining what the client still sends, so it sees the answer.
  void refuse(bhttp::status status, const std::string& code, const std::string& message);
  void drain();

  Services& services_;
  const Router& router_;
  boost::beast::tcp_stream stream_;
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
