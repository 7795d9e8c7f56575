// Error answers: every failure becomes {"error": {"code": ..., "message": ...}}
// with an HTTP status chosen from the cause.
#pragma once

#include <keel/plugin.h>

#include <boost/beast/http/status.hpp>
#include <nlohmann/json.hpp>
#include <ostream>  // boost 1.74 beast/http/status.hpp needs it first
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace keel::web {

namespace bhttp = boost::beast::http;
struct Response;

// Thrown by handlers for an answer other than success.
class HttpError : public std::runtime_error {
 public:
  HttpError(bhttp::status status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  bhttp::status status() const { return status_; }
  const std::string& code() const { return code_; }

  // More fields of the error object, beside code and message (e.g. the
  // leader of a partition).
  HttpError& with(const std::string& field, nlohmann::json value) {
    details_[field] = std::move(value);
    return *this;
  }
  const nlohmann::json& details() const { return details_; }
  // The base URL ("http://host:port") of the broker that should get the
  // request instead: the answer names the same request there ("location",
  // and a Location header).
  HttpError& redirect_to(std::string base_url) {
    redirect_base_ = std::move(base_url);
    return *this;
  }
  const std::string& redirect_base() const { return redirect_base_; }

 private:
  bhttp::status status_;
  std::string code_;
  nlohmann::json details_ = nlohmann::json::object();
  std::string redirect_base_;
};

// 400 with code "bad_request": a malformed body or a bad parameter.
HttpError bad_request(const std::string& message);

// The HTTP status and code for a broker status.
HttpError from_status(keel_status status, const std::string& message);

Response error_response(bhttp::status status, const std::string& code, const std::string& message);

// The answer for an HttpError, with its details; `target` (the request's
// path and query) completes its redirect.
Response error_response(const HttpError& e, const std::string& target);

// Turns the exception being handled (inside a catch block) into an answer:
// HttpError as it is, keel::sdk::Error through from_status, a JSON library
// exception (client input the handler did not check) 400, anything else 500.
// `target`: the request's path and query, for an error that redirects.
Response response_for_current_exception(const std::string& target = "");

}  // namespace keel::web
