// One HTTP/1.1 connection to one etcd endpoint ("host:port"), the transport
// under EtcdClient and Watch.
//
// Threading: the connection belongs to the thread that calls its steps
// (connect, send_post, read_*). Each step starts an asynchronous Beast
// operation and runs the connection's own io_context until it completes, so
// every step is bounded by a deadline (tcp_stream's timer), which Beast's
// blocking calls cannot be. interrupt() alone may be called from any other
// thread: it posts a shutdown of the socket to that io_context, which ends
// the step in progress (or the next one) with operation_aborted.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace keel::etcd {

using Clock = std::chrono::steady_clock;

struct Endpoint {
  std::string host;
  std::string port;
};

// "host:port", "[v6]:port", optionally behind "http://"; nullopt otherwise.
std::optional<Endpoint> parse_endpoint(std::string_view text);

// The error as an operator should read it, with what to check for the usual
// ones (a refused connection: is etcd running and listening there?).
std::string describe_error(const boost::system::error_code& ec, std::chrono::milliseconds timeout);

class HttpConnection {
 public:
  explicit HttpConnection(Endpoint endpoint);
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  boost::system::error_code connect(Clock::time_point deadline);
  boost::system::error_code send_post(std::string_view target, std::string body, Clock::time_point deadline);
  // A whole answer: status and body.
  boost::system::error_code read_response(unsigned& status, std::string& body, Clock::time_point deadline);
  // A streamed answer (watch): the header first, then the body as it comes,
  // without a deadline, appended to `out`; http::error::end_of_stream once
  // the answer is complete.
  boost::system::error_code read_header(unsigned& status, Clock::time_point deadline);
  boost::system::error_code read_body_some(std::string& out);

  // Any thread.
  void interrupt();

 private:
  template <class Initiate>
  boost::system::error_code run(Initiate&& initiate);

  Endpoint endpoint_;
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>> parser_;
  std::atomic<bool> interrupted_{false};
};

}  // namespace keel::etcd
