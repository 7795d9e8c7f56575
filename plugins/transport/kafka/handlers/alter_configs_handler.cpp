// AlterConfigs (key 33), v0-2 (flexible from v2): replaces a topic's
// dynamic configs as a whole, as Kafka does: the configs named get their
// values, every other Kafka config of the topic goes back to its default.
// Applied by the broker to the running topic and saved with it
// (alter_topic); validate_only checks all of it and changes nothing.
#include <set>
#include <string>
#include <vector>

#include "../authorization.hpp"
#include "handlers.hpp"
#include "topic_configs.hpp"

namespace keel::kafka {

void handle_alter_configs(Services& services, Request& req, const Responder& respond) {
  const bool flex = req.flexible;
  Reader& r = req.body;
  struct Resource {
    int8_t type;
    std::string name;
    transport::KafkaConfigChanges changes;
    std::string duplicate;
  };
  std::vector<Resource> resources;
  const int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n; ++i) {
    Resource res{r.int8(), r.any_string(flex), {}, {}};
    const int32_t k = r.array_length(flex);
    for (int32_t j = 0; j < k; ++j) {
      std::string name = r.any_string(flex);
      auto value = r.any_nullable_string(flex);
      if (flex) r.tagged_fields();
      if (res.changes.count(name)) res.duplicate = name;
      res.changes[name] = std::move(value);  // null: the default
    }
    if (flex) r.tagged_fields();
    resources.push_back(std::move(res));
  }
  const bool validate_only = r.boolean();
  if (flex) r.tagged_fields();

  std::vector<AlterResult> results;
  for (const auto& res : resources) {
    AlterResult out{ErrorCode::kNone, std::nullopt, res.type, res.name};
    std::string message;
    out.error = config_denial(services, req, res.type, res.name, KEEL_ACL_OP_ALTER_CONFIGS);
    if (out.error != ErrorCode::kNone) {
      message = "not authorized to ALTER_CONFIGS";
    } else {
      out.error = check_alter_resource(res.type, res.name, &message);
    }
    if (out.error != ErrorCode::kNone) {
      // the resource itself is refused
    } else if (!res.duplicate.empty()) {
      out.error = ErrorCode::kInvalidRequest;
      message = "topic '" + res.name + "': config '" + res.duplicate + "' appears more than once";
    } else {
      out.error = alter_topic_configs(services, res.name, res.changes, true, validate_only, &message);
    }
    if (out.error != ErrorCode::kNone) out.message = message;
    results.push_back(std::move(out));
  }
  Writer w;
  write_alter_response(w, results, flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
