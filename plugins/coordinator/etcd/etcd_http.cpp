#include "coordinator/etcd/etcd_http.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <utility>

namespace keel::etcd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

std::optional<Endpoint> parse_endpoint(std::string_view text) {
  if (text.starts_with("http://")) text.remove_prefix(7);
  if (!text.empty() && text.back() == '/') text.remove_suffix(1);
  std::string_view host;
  std::string_view port;
  if (text.starts_with("[")) {
    const auto close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  return Endpoint{std::string(host), std::string(port)};
}

std::string describe_error(const error_code& ec, std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout) return "no answer within " + std::to_string(timeout.count()) + " ms";
  if (ec == asio::error::connection_refused) {
    return "connection refused; is etcd running? (--listen-client-urls)";
  }
  if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset) {
    return "connection closed by etcd (" + ec.message() + ")";
  }
  return ec.message();
}

HttpConnection::HttpConnection(Endpoint endpoint) : endpoint_(std::move(endpoint)), stream_(ioc_) {}

template <class Initiate>
error_code HttpConnection::run(Initiate&& initiate) {
  if (interrupted_.load()) return asio::error::operation_aborted;
  error_code result = asio::error::would_block;
  initiate([&result](error_code ec, auto&&...) { result = ec; });
  ioc_.restart();
  ioc_.run();
  return result;
}

error_code HttpConnection::connect(Clock::time_point deadline) {
  asio::ip::tcp::resolver resolver(ioc_);
  asio::ip::tcp::resolver::results_type found;
  stream_.expires_at(deadline);
  error_code ec = run([&](auto done) {
    resolver.async_resolve(endpoint_.host, endpoint_.port,
                           [&found, done](error_code e, asio::ip::tcp::resolver::results_type r) mutable {
                             found = std::move(r);
                             done(e);
                           });
  });
  if (ec) return ec;
  return run([&](auto done) { stream_.async_connect(found, done); });
}

error_code HttpConnection::send_post(std::string_view target, std::string body, Clock::time_point deadline) {
  http::request<http::string_body> req{http::verb::post, beast::string_view(target.data(), target.size()),
                                       11};
  req.set(http::field::host, endpoint_.host + ":" + endpoint_.port);
  req.set(http::field::content_type, "application/json");
  req.set(http::field::user_agent, "keel-etcd-client");
  req.body() = std::move(body);
  req.prepare_payload();
  stream_.expires_at(deadline);
  return run([&](auto done) { http::async_write(stream_, req, done); });
}

error_code HttpConnection::read_response(unsigned& status, std::string& body, Clock::time_point deadline) {
  parser_.emplace();
  parser_->body_limit(boost::none);  // a range over a large prefix is as large as the data
  stream_.expires_at(deadline);
  error_code ec = run([&](auto done) { http::async_read(stream_, buffer_, *parser_, done); });
  if (ec) return ec;
  status = parser_->get().result_int();
  body = std::move(parser_->get().body());
  return {};
}

error_code HttpConnection::read_header(unsigned& status, Clock::time_point deadline) {
  parser_.emplace();
  parser_->body_limit(boost::none);  // a watch answers for as long as it lives
  stream_.expires_at(deadline);
  error_code ec = run([&](auto done) { http::async_read_header(stream_, buffer_, *parser_, done); });
  if (ec) return ec;
  status = parser_->get().result_int();
  return {};
}

error_code HttpConnection::read_body_some(std::string& out) {
  if (parser_->is_done()) return http::error::end_of_stream;
  stream_.expires_never();
  error_code ec = run([&](auto done) { http::async_read_some(stream_, buffer_, *parser_, done); });
  // string_body appends at the body's current end, so what was read so far
  // can be taken out between reads.
  auto& got = parser_->get().body();
  out += got;
  got.clear();
  if (!ec && parser_->is_done()) return http::error::end_of_stream;
  return ec;
}

void HttpConnection::interrupt() {
  interrupted_.store(true);
  asio::post(ioc_, [this] {
    error_code ignored;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream_.cancel();
  });
}

}  // namespace keel::etcd
