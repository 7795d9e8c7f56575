// FindCoordinator (key 10), v0-2. Keel coordinates every group itself;
// transactions are not served, so their coordinator is not available.
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {

namespace {
constexpr int8_t kKeyTypeGroup = 0;
}

void handle_find_coordinator(Services& services, Request& req, const Responder& respond) {
  const int16_t v = req.api_version;
  const bool flex = req.flexible;
  req.body.any_string(flex);  // key: the group id
  const int8_t key_type = v >= 1 ? req.body.int8() : kKeyTypeGroup;
  if (flex) req.body.tagged_fields();

  const bool served = key_type == kKeyTypeGroup;
  Writer w;
  if (v >= 1) w.int32(0);  // throttle_time_ms
  w.int16(code(served ? ErrorCode::kNone : ErrorCode::kCoordinatorNotAvailable));
  if (v >= 1) {
    w.nullable_string(served ? std::nullopt
                             : std::optional<std::string>("Keel does not coordinate transactions (key type " +
                                                          std::to_string(key_type) + ")"),
                      flex);
  }
  w.int32(served ? services.settings.node_id : -1);
  w.string(served ? services.settings.advertised_host : std::string(), flex);
  w.int32(served ? services.advertised_port : -1);
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
