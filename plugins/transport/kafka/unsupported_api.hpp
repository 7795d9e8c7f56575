// The answer to a request for an API or version Keel does not serve.
//
// Kafka closes the connection for an unknown API key, and answers only an
// unsupported ApiVersions version (in the ApiVersions v0 layout, with
// UNSUPPORTED_VERSION and the supported ranges). Clients never send what
// ApiVersions did not advertise, so such a request comes from a client that
// skipped it or guessed; closing leaves it with a bare disconnect and fails
// every other request in flight on the connection. Keel answers instead,
// with the correlation id (so the client can match it) and that same
// ApiVersions v0 error body: the one response layout every client decodes,
// with the error code where ApiVersions-, Heartbeat- and SyncGroup-v0-like
// layouts keep theirs. The connection stays open.
#pragma once

#include "protocol/writer.hpp"

namespace keel::kafka {

// The served APIs' ranges, as ApiVersions lists them.
void write_api_ranges(Writer& w, bool flexible);
// UNSUPPORTED_VERSION and the ranges, in the ApiVersions v0 layout.
Writer unsupported_api_answer();

}  // namespace keel::kafka
