// ApiVersions (key 18), v0-3. The answer is derived from api_table(). Its
// response header is always v0 (KIP-511), and an unsupported request version
// is answered in the v0 layout with UNSUPPORTED_VERSION so that clients can
// retry with a version both sides know.
#include "../api_table.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "../unsupported_api.hpp"
#include "handlers.hpp"

namespace keel::kafka {

void handle_api_versions(Services&, Request& req, const Responder& respond) {
  const ApiSpec* self = find_api(kApiVersionsKey);
  const bool supported = req.api_version >= self->min_version && req.api_version <= self->max_version;
  const int16_t v = supported ? req.api_version : 0;
  const bool flexible = v >= self->flexible_from;
  if (supported && flexible) {
    req.body.compact_string();  // client_software_name
    req.body.compact_string();  // client_software_version
    req.body.tagged_fields();
  }
  Writer w;
  w.int16(code(supported ? ErrorCode::kNone : ErrorCode::kUnsupportedVersion));
  write_api_ranges(w, flexible);
  if (v >= 1) w.int32(0);  // throttle_time_ms
  w.tagged_fields(flexible);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
