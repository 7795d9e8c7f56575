#include "services.hpp"

#include "api_table.hpp"
#include "group_coordinator.hpp"
#include "producer_state.hpp"

namespace keel::kafka {

Services::Services(const sdk::Host& h, Settings s, const keel_broker_api* api)
    : host(h), settings(std::move(s)), broker(api) {
  groups_ = std::make_unique<GroupCoordinator>(*this);
  producers_ = std::make_unique<ProducerStateTable>(*this);
}

Services::~Services() = default;

void Services::publish_connections(int64_t n) const {
  const keel_broker_api* api = broker.raw();
  api->gauge_set(api->ctx, "keel_open_connections", "transport=\"kafka\"", static_cast<double>(n));
}

void Services::observe_request(int16_t api_key, double seconds) {
  const ApiSpec* spec = find_api(api_key);
  const std::string labels =
      std::string("transport=\"kafka\",api=\"") + (spec ? spec->name : "unknown") + "\"";
  const keel_broker_api* api = broker.raw();
  api->counter_add(api->ctx, "keel_requests_total", labels.c_str(), 1);
  api->histogram_observe(api->ctx, "keel_request_seconds", labels.c_str(), seconds);
}

}  // namespace keel::kafka
