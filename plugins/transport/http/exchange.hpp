// One request and the means to answer it. Handlers may answer right away or
// later from any thread (a produce callback, a long-poll wake-up): respond()
// hands the answer to the connection's strand.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <functional>
#include <keel/broker.hpp>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "errors.hpp"
#include "query.hpp"

namespace keel::web {

class Services;

struct Response {
  bhttp::status status = bhttp::status::ok;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response json(bhttp::status status, const nlohmann::json& value) {
    Response r;
    r.status = status;
    // Replace rather than throw on invalid UTF-8: bytes reach JSON as text
    // only after a UTF-8 check, so this is a last line of defence.
    r.body = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
  }
  static Response ok(const nlohmann::json& value) { return json(bhttp::status::ok, value); }
};

struct Request {
  bhttp::verb method = bhttp::verb::get;
  std::string target;               // path and query as sent (a redirect repeats it)
  std::vector<std::string> path;    // percent-decoded segments
  std::vector<std::string> params;  // the route's {placeholders}, in order
  Query query;
  std::string body;
  // Whom the broker's authorizer is asked about: "User:<name>" after HTTP
  // Basic authentication, "User:ANONYMOUS" without it; the client's address;
  // the listener ("http" or "https").
  sdk::Broker::AuthzSubject subject;
  // The If-None-Match header (the console's files answer 304 for their ETag).
  std::string if_none_match;
};

class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  using Sink = std::function<void(Response)>;

  Exchange(Services& services, Request request, boost::asio::any_io_executor executor, Sink sink)
      : services(services),
        request(std::move(request)),
        executor(std::move(executor)),
        sink_(std::move(sink)) {}

  Services& services;
  Request request;
  // The connection's strand: continuations of a handler run there.
  const boost::asio::any_io_executor executor;

  // Answers once; later calls are ignored. Safe from any thread.
  void respond(Response r) {
    {
      std::lock_guard lock(mu_);
      if (answered_) return;
      answered_ = true;
      cancel_ = nullptr;
    }
    boost::asio::post(executor, [sink = sink_, r = std::move(r)]() mutable { sink(std::move(r)); });
  }

  // Runs fn and answers with the error if it throws (for continuations).
  template <class Fn>
  void guarded(Fn&& fn) {
    try {
      fn();
    } catch (...) {
      respond(response_for_current_exception(request.target));
    }
  }

  // What to do if the connection closes while the answer is pending (a long
  // poll stops waiting and unregisters from the broker).
  void on_cancel(std::function<void()> fn) {
    std::lock_guard lock(mu_);
    if (!answered_) cancel_ = std::move(fn);
  }
  void cancel() {
    std::function<void()> fn;
    {
      std::lock_guard lock(mu_);
      fn = std::move(cancel_);
      cancel_ = nullptr;
    }
    if (fn) fn();
  }

 private:
  Sink sink_;
  std::mutex mu_;
  bool answered_ = false;
  std::function<void()> cancel_;
};

using ExchangePtr = std::shared_ptr<Exchange>;

}  // namespace keel::web
