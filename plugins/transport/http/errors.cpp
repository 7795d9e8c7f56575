#include "errors.hpp"

#include <keel/plugin.hpp>
#include <nlohmann/json.hpp>

#include "exchange.hpp"

namespace keel::web {

HttpError bad_request(const std::string& message) {
  return HttpError(bhttp::status::bad_request, "bad_request", message);
}

HttpError from_status(keel_status status, const std::string& message) {
  using S = bhttp::status;
  switch (status) {
    case KEEL_ERR_INVALID_ARGUMENT:
      return HttpError(S::bad_request, "bad_request", message);
    case KEEL_ERR_INVALID_NAME:
      return HttpError(S::bad_request, "invalid_name", message);
    case KEEL_ERR_TOO_LARGE:
      return HttpError(S::payload_too_large, "too_large", message);
    // A group with live members (Kafka consumers) refuses commits made
    // outside its protocol: the group's state conflicts with the request.
    case KEEL_ERR_FENCED:
      return HttpError(S::conflict, "fenced", message);
    case KEEL_ERR_UNKNOWN_MEMBER:
      return HttpError(S::conflict, "group_has_members", message);
    case KEEL_ERR_OUT_OF_ORDER:
      return HttpError(S::conflict, "out_of_order_sequence", message);
    case KEEL_ERR_UNKNOWN_PRODUCER:
      return HttpError(S::conflict, "unknown_producer", message);
    case KEEL_ERR_NOT_LEADER:
      return HttpError(S::service_unavailable, "not_leader", message);
    case KEEL_ERR_NOT_ENOUGH_REPLICAS:
      return HttpError(S::service_unavailable, "not_enough_replicas", message);
    case KEEL_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
      return HttpError(S::service_unavailable, "not_enough_replicas_after_append", message);
    case KEEL_ERR_TIMED_OUT:
      return HttpError(S::gateway_timeout, "timed_out", message);
    case KEEL_ERR_AUTHENTICATION:
      return HttpError(S::unauthorized, "authentication_failed", message);
    case KEEL_ERR_NOT_FOUND:
      return HttpError(S::not_found, "not_found", message);
    case KEEL_ERR_ALREADY_EXISTS:
      return HttpError(S::conflict, "already_exists", message);
    case KEEL_ERR_OUT_OF_RANGE:
      return HttpError(S::bad_request, "offset_out_of_range", message);
    case KEEL_ERR_UNAVAILABLE:
      return HttpError(S::service_unavailable, "unavailable", message);
    case KEEL_ERR_NO_SPACE:
      return HttpError(S::insufficient_storage, "no_space", message);
    case KEEL_ERR_UNSUPPORTED:
      return HttpError(S::not_implemented, "unsupported", message);
    case KEEL_ERR_CORRUPT:
      return HttpError(S::internal_server_error, "corrupt", message);
    case KEEL_ERR_IO:
      return HttpError(S::internal_server_error, "io_error", message);
    default:
      return HttpError(S::internal_server_error, "internal", message);
  }
}

Response error_response(bhttp::status status, const std::string& code, const std::string& message) {
  return Response::json(status, {{"error", {{"code", code}, {"message", message}}}});
}

Response error_response(const HttpError& e, const std::string& target) {
  nlohmann::json error = {{"code", e.code()}, {"message", e.what()}};
  error.update(e.details());
  const std::string location = e.redirect_base().empty() ? std::string() : e.redirect_base() + target;
  if (!location.empty()) error["location"] = location;
  Response r = Response::json(e.status(), {{"error", std::move(error)}});
  if (!location.empty()) r.headers.emplace_back("Location", location);
  return r;
}

Response response_for_current_exception(const std::string& target) {
  try {
    throw;
  } catch (const HttpError& e) {
    return error_response(e, target);
  } catch (const sdk::Error& e) {
    const HttpError h = from_status(e.code(), e.what());
    return error_response(h.status(), h.code(), h.what());
  } catch (const nlohmann::json::exception& e) {
    // The transport uses JSON only for what clients send: a value of a type
    // or range a handler did not check is still the client's mistake.
    return error_response(bhttp::status::bad_request, "bad_request",
                          std::string("request body has a value the endpoint cannot use: ") + e.what());
  } catch (const std::exception& e) {
    return error_response(bhttp::status::internal_server_error, "internal", e.what());
  } catch (...) {
    return error_response(bhttp::status::internal_server_error, "internal", "unknown error");
  }
}

}  // namespace keel::web
