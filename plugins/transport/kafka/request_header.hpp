// The request header: the first bytes of every request frame. Request
// header v1 (api key, version, correlation id, client id) for classic
// versions, v2 (the same plus a tagged-field section) for flexible ones
// (KIP-482); the client id keeps its int16 length in both, so that any
// broker can read it. Response headers are v0 (correlation id) or, for
// flexible versions, v1 (plus tagged fields), but for ApiVersions, whose
// response header is v0 always (KIP-511), so that a client can read the
// answer whatever version it tried.
#pragma once

#include "api_table.hpp"
#include "protocol/reader.hpp"
#include "request.hpp"

namespace keel::kafka {

enum class HeaderVerdict {
  kServe,               // spec is the API; req.body is positioned at the body
  kUnknownApi,          // Keel does not serve the api key
  kUnsupportedVersion,  // outside the API's version range (never ApiVersions)
};

// Reads the header from `r` into `req` and `*spec`, leaving `r` at the body.
// An unknown API or unsupported version stops after the correlation id:
// nothing further can be read safely. ApiVersions out of range is served
// (with req.flexible false: its answer is in the v0 layout). Throws
// ProtocolError for a header cut short.
HeaderVerdict read_request_header(Reader& r, Request& req, const ApiSpec** spec);

// Whether the answer to `req` has response header v1 (with tagged fields).
inline bool flexible_response_header(const Request& req) {
  return req.flexible && req.api_key != kApiVersionsKey;
}

}  // namespace keel::kafka
