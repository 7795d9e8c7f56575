#include "request_header.hpp"

namespace keel::kafka {

HeaderVerdict read_request_header(Reader& r, Request& req, const ApiSpec** spec) {
  req.api_key = r.int16();
  req.api_version = r.int16();
  req.correlation_id = r.int32();
  *spec = find_api(req.api_key);
  if (*spec == nullptr) return HeaderVerdict::kUnknownApi;
  const bool in_range = req.api_version >= (*spec)->min_version && req.api_version <= (*spec)->max_version;
  if (!in_range && (*spec)->key != kApiVersionsKey) return HeaderVerdict::kUnsupportedVersion;
  req.flexible = in_range && req.api_version >= (*spec)->flexible_from;
  req.client_id = r.nullable_string();  // int16 length even in header v2
  if (req.flexible) r.tagged_fields();
  return HeaderVerdict::kServe;
}

}  // namespace keel::kafka
