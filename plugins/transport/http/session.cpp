#include "session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>

#include "router.hpp"
#include "services.hpp"

namespace keel::web {
namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {
// An idle keep-alive connection is closed after this.
constexpr auto kIdleTimeout = std::chrono::seconds(120);
// Reading a body or writing an answer must progress within this.
constexpr auto kIoTimeout = std::chrono::seconds(60);
// How long a refused client gets to finish sending before the close.
constexpr auto kDrainTimeout = std::chrono::seconds(5);
}  // namespace

Session::Session(Services& services, const Router& router, asio::ip::tcp::socket socket)
    : services_(services), router_(router), stream_(std::move(socket)) {
  services_.connection_opened();
}

Session::~Session() { services_.connection_closed(); }

void Session::start() {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  if (current_) current_->cancel();
  current_.reset();  // its answer callback holds this session
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  stream_.close();
}

void Session::read_header() {
  if (closed_) return;
  started_ns_ = 0;
  parser_.emplace();
  parser_->body_limit(static_cast<uint64_t>(services_.settings.max_body_bytes));
  parser_->header_limit(64 * 1024);
  stream_.expires_after(kIdleTimeout);
  bhttp::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
}

void Session::on_header(beast::error_code ec) {
  if (closed_) return;
  if (ec == bhttp::error::body_limit) {
    return refuse(bhttp::status::payload_too_large, "body_too_large",
                  "request body exceeds max_body_bytes (" +
                      std::to_string(services_.settings.max_body_bytes) +
                      " bytes); send fewer records per request");
  }
  if (ec == bhttp::error::header_limit) {
    return refuse(bhttp::status::request_header_fields_too_large, "headers_too_large",
                  "request line and headers exceed 65536 bytes");
  }
  if (ec) {
    // The client went away, idled out, or sent bytes that are not HTTP.
    if (ec != bhttp::error::end_of_stream && ec != asio::error::eof && ec != beast::error::timeout &&
        ec != asio::error::operation_aborted && ec != asio::error::connection_reset) {
      return refuse(bhttp::status::bad_request, "bad_request", "malformed HTTP request: " + ec.message());
    }
    return close();
  }
  started_ns_ = services_.host.monotonic_ns();
  const auto& req = parser_->get();
  if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
    auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, req.version());
    stream_.expires_after(kIoTimeout);
    bhttp::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code wec, size_t) {
      if (wec) return self->close();
      bhttp::async_read(self->stream_, self->buffer_, *self->parser_,
                        [self](beast::error_code rec, size_t) { self->on_body(rec); });
    });
    return;
  }
  stream_.expires_after(kIoTimeout);
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](beast::error_code rec, size_t) { self->on_body(rec); });
}

void Session::on_body(beast::error_code ec) {
  if (closed_) return;
  if (ec == bhttp::error::body_limit) {
    return refuse(bhttp::status::payload_too_large, "body_too_large",
                  "request body exceeds max_body_bytes (" +
                      std::to_string(services_.settings.max_body_bytes) +
                      " bytes); send fewer records per request");
  }
  if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == beast::error::timeout) {
    return close();
  }
  if (ec) return refuse(bhttp::status::bad_request, "bad_request", "malformed HTTP request: " + ec.message());
  handle();
}

void Session::handle() {
  auto msg = parser_->release();
  version_ = msg.version();
  keep_alive_ = msg.keep_alive();
  stream_.expires_never();  // a long poll may wait as long as the client asked

  auto self = shared_from_this();
  Request req;
  req.method = msg.method();
  try {
    std::string_view query_text;
    req.path = split_path(std::string_view(msg.target().data(), msg.target().size()), &query_text);
    req.query = Query(query_text);
  } catch (...) {
    route_ = "invalid";
    return send(response_for_current_exception());
  }
  req.body = std::move(msg.body());
  current_ = std::make_shared<Exchange>(services_, std::move(req), stream_.get_executor(),
                                        [self](Response r) { self->send(std::move(r)); });
  route_ = router_.dispatch(current_);
}

void Session::send(Response r) {
  current_.reset();
  if (closed_) return;
  services_.observe_request(route_, static_cast<double>(services_.host.monotonic_ns() - started_ns_) / 1e9);
  auto res = std::make_shared<bhttp::response<bhttp::string_body>>(r.status, version_);
  res->set(bhttp::field::server, "keel");
  if (r.status != bhttp::status::no_content) res->set(bhttp::field::content_type, r.content_type);
  for (const auto& [name, value] : r.headers) res->set(name, value);
  res->keep_alive(keep_alive_);
  res->body() = std::move(r.body);
  res->prepare_payload();
  stream_.expires_after(kIoTimeout);
  bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
    self->on_written(ec, res->keep_alive());
  });
}

void Session::on_written(beast::error_code ec, bool keep_alive) {
  if (ec || !keep_alive) return close();
  read_header();
}

void Session::refuse(bhttp::status status, const std::string& code, const std::string& message) {
  if (started_ns_ == 0) started_ns_ = services_.host.monotonic_ns();
  route_ = "invalid";
  services_.observe_request(route_, static_cast<double>(services_.host.monotonic_ns() - started_ns_) / 1e9);
  Response r = error_response(status, code, message);
  auto res = std::make_shared<bhttp::response<bhttp::string_body>>(r.status, version_);
  res->set(bhttp::field::server, "keel");
  res->set(bhttp::field::content_type, r.content_type);
  res->keep_alive(false);
  res->body() = std::move(r.body);
  res->prepare_payload();
  stream_.expires_after(kIoTimeout);
  bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
    if (ec) return self->close();
    beast::error_code sec;
    self->stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, sec);
    self->scratch_ = std::make_shared<std::array<char, 65536>>();
    self->stream_.expires_after(kDrainTimeout);
    self->drain();
  });
}

void Session::drain() {
  stream_.async_read_some(asio::buffer(*scratch_), [self = shared_from_this()](beast::error_code ec, size_t) {
    if (ec || self->closed_) return self->close();
    self->drain();
  });
}

}  // namespace keel::web
