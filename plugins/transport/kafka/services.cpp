#include "services.hpp"

#include "api_table.hpp"
#include "common/client_metrics.hpp"
#include "common/connection_limits.hpp"
#include "group_coordinator.hpp"

namespace keel::kafka {

Services::Services(const sdk::Host& h, Settings s, const keel_broker_api* api)
    : host(h), settings(std::move(s)), broker(api), client_log(h, transport::kClientLogLinesPerSecond) {
  groups_ = std::make_unique<GroupCoordinator>(*this);
}

Services::~Services() = default;

int32_t Services::node_id() const {
  if (auto c = broker.cluster_info()) return c->broker_id;
  return settings.node_id;
}

void Services::count_malformed() const { transport::count_malformed(broker.raw(), "kafka"); }

void Services::count_timed_out(const char* reason) const {
  transport::count_timed_out(broker.raw(), "kafka", reason);
}

void Services::observe_request(int16_t api_key, double seconds) {
  const ApiSpec* spec = find_api(api_key);
  const sdk::Labels labels = {{"transport", "kafka"}, {"api", spec ? spec->name : "unknown"}};
  broker.counter_add("keel_requests_total", labels, 1);
  broker.histogram_observe("keel_request_seconds", labels, seconds);
}

}  // namespace keel::kafka
