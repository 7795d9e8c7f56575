#include "session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ssl/stream_base.hpp>
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
// Writing an answer must finish within this.
constexpr auto kIoTimeout = std::chrono::seconds(60);
// Retrying a reservation: 5 ms at first, doubling to 100 ms.
constexpr int64_t kFirstMemoryRetryMs = 5;
constexpr int64_t kMaxMemoryRetryMs = 100;
// How long a refused client gets to finish sending before the close.
constexpr auto kDrainTimeout = std::chrono::seconds(5);
}  // namespace

Session::Session(Services& services, const Router& router, asio::ip::tcp::socket socket,
                 transport::Ticket ticket, std::shared_ptr<asio::ssl::context> tls)
    : services_(services),
      router_(router),
      stream_(std::move(socket)),
      tls_context_(std::move(tls)),
      ticket_(std::move(ticket)),
      memory_timer_(stream_.get_executor()) {
  beast::error_code ec;
  const auto ep = stream_.socket().remote_endpoint(ec);
  peer_ = ec ? std::string("unknown peer") : ep.address().to_string() + ":" + std::to_string(ep.port());
  if (!ec) {
    // An IPv4 client of a dual-stack listener arrives as ::ffff:a.b.c.d;
    // ACL bindings name it a.b.c.d (as Kafka's InetAddress does).
    const auto a = ep.address();
    peer_address_ = a.is_v6() && a.to_v6().is_v4_mapped()
                        ? asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string()
                        : a.to_string();
  }
  if (tls_context_) tls_ = std::make_unique<TlsStream>(stream_, *tls_context_);
}

void Session::start() {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    if (!self->tls_) return self->read_header();
    // The handshake is bounded like a request's headers.
    self->stream_.expires_after(std::chrono::milliseconds(self->services_.settings.header_timeout_ms));
    self->tls_->async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
      if (ec) {
        self->services_.count_malformed();
        self->services_.client_log.warn(
            "closing HTTP connection from " + self->peer_ +
            ": TLS handshake failed: " + transport::handshake_failure_text(ec, self->tls_->native_handle()));
        return self->close();
      }
      self->read_header();
    });
  });
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  if (current_) current_->cancel();
  current_.reset();  // its answer callback holds this session
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  stream_.close();
  memory_timer_.cancel();
  memory_.reset();
  ticket_.reset();
}

void Session::read_header() {
  if (closed_) return;
  started_ns_ = 0;
  parser_.emplace();
  parser_->body_limit(static_cast<uint64_t>(services_.settings.max_body_bytes));
  parser_->header_limit(64 * 1024);
  if (buffer_.size() > 0) return read_header_rest();  // a pipelined request began
  // Idle until the first byte of the next request.
  stream_.expires_after(std::chrono::milliseconds(services_.settings.limits.idle_timeout_ms));
  on_stream([&](auto& stream) {
    stream.async_read_some(
        buffer_.prepare(4096),
        [self = shared_from_this()](beast::error_code ec, size_t n) { self->on_first_bytes(ec, n); });
  });
}

void Session::on_first_bytes(beast::error_code ec, size_t n) {
  if (closed_) return;
  if (ec == beast::error::timeout) {
    return time_out("idle", "no request began", services_.settings.limits.idle_timeout_ms, "idle_timeout_ms");
  }
  if (ec) return close();  // the client went away
  buffer_.commit(n);
  read_header_rest();
}

void Session::read_header_rest() {
  stream_.expires_after(std::chrono::milliseconds(services_.settings.header_timeout_ms));
  on_stream([&](auto& stream) {
    bhttp::async_read_header(
        stream, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  });
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
  if (ec == beast::error::timeout) {
    return time_out("header", "the request headers did not arrive", services_.settings.header_timeout_ms,
                    "header_timeout_ms");
  }
  if (ec) {
    // The client went away, or sent bytes that are not HTTP.
    if (ec != bhttp::error::end_of_stream && ec != asio::error::eof && ec != asio::error::operation_aborted &&
        ec != asio::error::connection_reset) {
      return malformed("malformed HTTP request: " + ec.message());
    }
    return close();
  }
  started_ns_ = services_.host.monotonic_ns();
  memory_retries_ = 0;
  reserve_and_read_body();
}

// The body's bytes (its Content-Length, or max_body_bytes when chunked) are
// reserved before it is read, and before `100 Continue` invites it.
void Session::reserve_and_read_body() {
  if (closed_) return;
  if (!parser_->is_done()) {
    const auto bytes =
        parser_->content_length().value_or(static_cast<uint64_t>(services_.settings.max_body_bytes));
    if (!transport::reserve_request_bytes(services_.broker.raw(), static_cast<int64_t>(bytes), &memory_)) {
      stream_.expires_never();  // waiting for memory is not the client's fault
      const int shift = std::min(memory_retries_++, 5);
      memory_timer_.expires_after(
          std::chrono::milliseconds(std::min(kMaxMemoryRetryMs, kFirstMemoryRetryMs << shift)));
      memory_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->reserve_and_read_body();
      });
      return;
    }
  }
  const auto& req = parser_->get();
  stream_.expires_after(std::chrono::milliseconds(services_.settings.limits.request_timeout_ms));
  if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
    auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, req.version());
    on_stream([&](auto& stream) {
      bhttp::async_write(stream, *cont, [self = shared_from_this(), cont](beast::error_code wec, size_t) {
        if (wec) return self->close();
        self->read_body();
      });
    });
    return;
  }
  read_body();
}

void Session::read_body() {
  on_stream([&](auto& stream) {
    bhttp::async_read(stream, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code rec, size_t) { self->on_body(rec); });
  });
}

void Session::on_body(beast::error_code ec) {
  if (closed_) return;
  if (ec == bhttp::error::body_limit) {
    return refuse(bhttp::status::payload_too_large, "body_too_large",
                  "request body exceeds max_body_bytes (" +
                      std::to_string(services_.settings.max_body_bytes) +
                      " bytes); send fewer records per request");
  }
  if (ec == beast::error::timeout) {
    return time_out("request", "the request body did not arrive",
                    services_.settings.limits.request_timeout_ms, "request_timeout_ms");
  }
  if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset) {
    return close();
  }
  if (ec) return malformed("malformed HTTP request: " + ec.message());
  handle();
}

bool Session::needs_credentials(const std::vector<std::string>& path) const {
  // Probes stay open so that load balancers and orchestrators need no secret.
  if (path.size() != 1) return true;
  if (path[0] == "health" || path[0] == "ready") return false;
  return !(path[0] == "metrics" && services_.settings.metrics_public);
}

void Session::handle() {
  auto msg = parser_->release();
  version_ = msg.version();
  keep_alive_ = msg.keep_alive();
  stream_.expires_never();  // a long poll may wait as long as the client asked

  auto self = shared_from_this();
  Request req;
  req.method = msg.method();
  req.subject.host = peer_address_;
  req.subject.listener = tls_ ? "https" : "http";
  try {
    std::string_view query_text;
    req.target = std::string(msg.target());
    req.path = split_path(req.target, &query_text);
    req.query = Query(query_text);
  } catch (...) {
    route_ = "invalid";
    return send(response_for_current_exception());
  }
  if (services_.settings.authentication == "basic" && needs_credentials(req.path)) {
    const auto header = msg[bhttp::field::authorization];
    const auto verdict = services_.basic_auth.check(std::string_view(header.data(), header.size()));
    if (!verdict.ok) {
      route_ = "unauthorized";
      if (!header.empty()) {
        services_.client_log.warn("HTTP Basic authentication failed for " + peer_ +
                                  (verdict.user.empty() ? "" : " (user '" + verdict.user + "')") + ": " +
                                  verdict.message);
      }
      Response r = error_response(bhttp::status::unauthorized, "unauthorized", verdict.message);
      r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"keel\", charset=\"UTF-8\"");
      return send(std::move(r));
    }
    // The authorizer decides for this user; without credentials (a probe)
    // the request stays User:ANONYMOUS.
    req.subject.principal = "User:" + verdict.user;
  }
  const auto etag = msg[bhttp::field::if_none_match];
  req.if_none_match.assign(etag.data(), etag.size());
  req.body = std::move(msg.body());
  current_ = std::make_shared<Exchange>(services_, std::move(req), stream_.get_executor(),
                                        [self](Response r) { self->send(std::move(r)); });
  route_ = router_.dispatch(current_);
}

void Session::send(Response r) {
  current_.reset();
  memory_.reset();  // the request is handled: its body no longer counts
  if (closed_) return;
  services_.observe_request(route_, static_cast<double>(services_.host.monotonic_ns() - started_ns_) / 1e9);
  auto res = std::make_shared<bhttp::response<bhttp::string_body>>(r.status, version_);
  res->set(bhttp::field::server, "keel");
  if (r.status != bhttp::status::no_content && !r.content_type.empty()) {
    res->set(bhttp::field::content_type, r.content_type);
  }
  for (const auto& [name, value] : r.headers) res->set(name, value);
  res->keep_alive(keep_alive_);
  res->body() = std::move(r.body);
  res->prepare_payload();
  stream_.expires_after(kIoTimeout);
  on_stream([&](auto& stream) {
    bhttp::async_write(stream, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      self->on_written(ec, res->keep_alive());
    });
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
  on_stream([&](auto& stream) {
    bhttp::async_write(stream, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      if (ec) return self->close();
      beast::error_code sec;
      self->stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, sec);
      self->scratch_ = std::make_shared<std::array<char, 65536>>();
      self->stream_.expires_after(kDrainTimeout);
      self->drain();
    });
  });
}

void Session::time_out(const char* reason, const std::string& what, int64_t ms, const char* key) {
  services_.count_timed_out(reason);
  services_.client_log.info("closing HTTP connection from " + peer_ + ": " + what + " within " +
                            std::to_string(ms) + " ms (" + key + ")");
  close();
}

void Session::malformed(const std::string& message) {
  services_.count_malformed();
  beast::error_code ec;
  const auto peer = stream_.socket().remote_endpoint(ec);
  services_.client_log.warn("answering 400 to " +
                            (ec ? std::string("unknown peer") : peer.address().to_string()) +
                            " and closing: " + message);
  refuse(bhttp::status::bad_request, "bad_request", message);
}

void Session::drain() {
  on_stream([&](auto& stream) {
    stream.async_read_some(asio::buffer(*scratch_),
                           [self = shared_from_this()](beast::error_code ec, size_t) {
                             if (ec || self->closed_) return self->close();
                             self->drain();
                           });
  });
}

}  // namespace keel::web
