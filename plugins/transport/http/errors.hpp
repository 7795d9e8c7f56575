// Error answers: every failure becomes {"error": {"code": ..., "message": ...}}
// with an HTTP status chosen from the cause.
#pragma once

#include <keel/plugin.h>

#include <boost/beast/http/status.hpp>
#include <ostream>  // boost 1.74 beast/http/status.hpp needs it first
#include <stdexcept>
#include <string>

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

 private:
  bhttp::status status_;
  std::string code_;
};

// 400 with code "bad_request": a malformed body or a bad parameter.
HttpError bad_request(const std::string& message);

// The HTTP status and code for a broker status.
HttpError from_status(keel_status status, const std::string& message);

Response error_response(bhttp::status status, const std::string& code, const std::string& message);

// Turns the exception being handled (inside a catch block) into an answer:
// HttpError as it is, keel::sdk::Error through from_status, a JSON library
// exception (client input the handler did not check) 400, anything else 500.
Response response_for_current_exception();

}  // namespace keel::web
