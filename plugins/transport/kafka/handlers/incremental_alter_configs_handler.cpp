// IncrementalAlterConfigs (key 44), v0-1 (flexible from v1): changes named
// configs of a topic and leaves the others as they are. SET and DELETE
// (back to the default) apply to every config; APPEND and SUBTRACT only to
// the list-typed cleanup.policy. Applied and saved by the broker
// (alter_topic); validate_only checks all of it and changes nothing.
#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../authorization.hpp"
#include "handlers.hpp"
#include "topic_configs.hpp"

namespace keel::kafka {
namespace {

constexpr int8_t kSet = 0;
constexpr int8_t kDelete = 1;
constexpr int8_t kAppend = 2;
constexpr int8_t kSubtract = 3;

struct Op {
  std::string name;
  int8_t op;
  std::optional<std::string> value;
};

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string item = list.substr(start, end - start);
    std::erase(item, ' ');
    if (!item.empty()) out.push_back(item);
    start = end + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

// The changes the operations make, or an error.
ErrorCode changes_of(Services& services, const std::string& topic, const std::vector<Op>& ops,
                     transport::KafkaConfigChanges* changes, std::string* message) {
  std::set<std::string> seen;
  for (const auto& o : ops) {
    if (!seen.insert(o.name).second) {
      *message = "topic '" + topic + "': config '" + o.name + "' appears more than once";
      return ErrorCode::kInvalidRequest;
    }
    if (o.op == kDelete) {
      (*changes)[o.name] = std::nullopt;
      continue;
    }
    if (o.op != kSet && o.op != kAppend && o.op != kSubtract) {
      *message = "topic '" + topic + "': unknown config operation " + std::to_string(o.op) + " for '" +
                 o.name + "' (0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT)";
      return ErrorCode::kInvalidRequest;
    }
    if (!o.value) {
      *message = "topic '" + topic + "': config '" + o.name + "' needs a value (use DELETE for the default)";
      return ErrorCode::kInvalidConfig;
    }
    if (o.op == kSet) {
      (*changes)[o.name] = o.value;
      continue;
    }
    if (!transport::is_list_config(o.name)) {
      *message = "topic '" + topic + "': cannot " + (o.op == kAppend ? "APPEND to" : "SUBTRACT from") +
                 " config '" + o.name + "': it is not a list (only cleanup.policy is)";
      return ErrorCode::kInvalidConfig;
    }
    ErrorCode error = ErrorCode::kNone;
    auto current = describe_topic_configs(services, topic, &error, message);
    if (!current) return error;
    std::vector<std::string> items;
    for (const auto& c : *current) {
      if (c.config.name == o.name) items = split(c.config.value);
    }
    for (const auto& item : split(*o.value)) {
      const bool present = std::find(items.begin(), items.end(), item) != items.end();
      if (o.op == kAppend && !present) items.push_back(item);
      if (o.op == kSubtract) std::erase(items, item);
    }
    if (items.empty()) {
      *message = "topic '" + topic + "': " + o.name + " cannot be empty (SUBTRACT of '" + *o.value +
                 "' would leave nothing)";
      return ErrorCode::kInvalidConfig;
    }
    (*changes)[o.name] = join(items);
  }
  return ErrorCode::kNone;
}

}  // namespace

void handle_incremental_alter_configs(Services& services, Request& req, const Responder& respond) {
  const bool flex = req.flexible;
  Reader& r = req.body;
  struct Resource {
    int8_t type;
    std::string name;
    std::vector<Op> ops;
  };
  std::vector<Resource> resources;
  const int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n; ++i) {
    Resource res{r.int8(), r.any_string(flex), {}};
    const int32_t k = r.array_length(flex);
    for (int32_t j = 0; j < k; ++j) {
      Op o;
      o.name = r.any_string(flex);
      o.op = r.int8();
      o.value = r.any_nullable_string(flex);
      if (flex) r.tagged_fields();
      res.ops.push_back(std::move(o));
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
    transport::KafkaConfigChanges changes;
    out.error = config_denial(services, req, res.type, res.name, KEEL_ACL_OP_ALTER_CONFIGS);
    if (out.error != ErrorCode::kNone) {
      message = "not authorized to ALTER_CONFIGS";
    } else {
      out.error = check_alter_resource(res.type, res.name, &message);
    }
    if (out.error == ErrorCode::kNone)
      out.error = changes_of(services, res.name, res.ops, &changes, &message);
    if (out.error == ErrorCode::kNone)
      out.error = alter_topic_configs(services, res.name, changes, false, validate_only, &message);
    if (out.error != ErrorCode::kNone) out.message = message;
    results.push_back(std::move(out));
  }
  Writer w;
  write_alter_response(w, results, flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
