// GET /plugins: the strategies the broker loaded (broker API 2.6,
// list_strategies), with the library, version, file and ABI of each, and the
// ABI this transport was built for. From an older broker the list is empty
// and "operator_views" says why.
#include "handlers.hpp"
#include "services.hpp"

namespace keel::web {

void handle_plugins(const ExchangePtr& x) {
  x->request.query.allow_only({});
  const sdk::Broker& b = x->services.broker.sdk();
  auto list = nlohmann::json::array();
  for (const auto& s : b.loaded_strategies()) {
    list.push_back({{"kind", s.kind},
                    {"name", s.name},
                    {"plugin", s.plugin},
                    {"version", s.version},
                    {"path", s.path},
                    {"abi_major", s.abi_major},
                    {"abi_minor", s.abi_minor}});
  }
  x->respond(Response::ok({{"abi", {{"major", KEEL_ABI_MAJOR}, {"minor", KEEL_TARGET_ABI_MINOR}}},
                           {"operator_views", b.has_operator_views()},
                           {"strategies", std::move(list)}}));
}

}  // namespace keel::web
