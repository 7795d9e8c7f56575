#include "router.hpp"

#include <stdexcept>

#include "authorization.hpp"
#include "handlers.hpp"
#include "names.hpp"

namespace keel::web {

Router::Router() {
  using V = bhttp::verb;
  constexpr int8_t kRead = KEEL_ACL_OP_READ;
  constexpr int8_t kWrite = KEEL_ACL_OP_WRITE;
  constexpr int8_t kDelete = KEEL_ACL_OP_DELETE;
  constexpr int8_t kAlter = KEEL_ACL_OP_ALTER;
  constexpr int8_t kDescribe = KEEL_ACL_OP_DESCRIBE;
  const auto topic = [](int8_t op) { return Need{KEEL_RESOURCE_TOPIC, op}; };
  const auto group = [](int8_t op) { return Need{KEEL_RESOURCE_GROUP, op}; };
  const auto cluster = [](int8_t op) { return Need{KEEL_RESOURCE_CLUSTER, op}; };
  // Probes and metrics need nothing: a load balancer or scraper has no
  // principal to grant rights to. Routes without a Need ask in their handler
  // what depends on the body or filter what they list (authorization.hpp).
  add(V::get, "/health", "health", handle_health);
  add(V::get, "/ready", "ready", handle_ready);
  add(V::get, "/metrics", "metrics", handle_metrics);
  add(V::get, "/cluster", "cluster", handle_cluster, {cluster(kDescribe)});
  add(V::get, "/plugins", "plugins", handle_plugins, {cluster(kDescribe)});
  add(V::get, "/topics", "list_topics", handle_list_topics);
  add(V::post, "/topics", "create_topic", handle_create_topic);
  add(V::get, "/topics/{topic}", "describe_topic", handle_describe_topic, {topic(kDescribe)});
  add(V::delete_, "/topics/{topic}", "delete_topic", handle_delete_topic, {topic(kDelete)});
  // Auto-creating a missing topic also needs CREATE: asked by the handler,
  // which knows whether the topic exists.
  add(V::post, "/topics/{topic}/records", "produce", handle_produce, {topic(kWrite)});
  add(V::post, "/producers", "init_producer", handle_init_producer);
  add(V::post, "/topics/{topic}/partitions", "create_partitions", handle_create_partitions, {topic(kAlter)});
  add(V::get, "/topics/{topic}/partitions/{partition}", "partition", handle_partition, {topic(kDescribe)});
  add(V::get, "/topics/{topic}/partitions/{partition}/segments", "segments", handle_segments,
      {topic(kDescribe)});
  add(V::post, "/topics/{topic}/partitions/{partition}/delete-records", "delete_records",
      handle_delete_records, {topic(kDelete)});
  add(V::get, "/topics/{topic}/partitions/{partition}/records", "consume", handle_consume, {topic(kRead)});
  add(V::get, "/groups", "list_groups", handle_list_groups);
  add(V::get, "/groups/{group}", "describe_group", handle_describe_group, {group(kDescribe)});
  add(V::delete_, "/groups/{group}", "delete_group", handle_delete_group, {group(kDelete)});
  // READ on the body's topic, as for a commit: asked by the handler.
  add(V::post, "/groups/{group}/offsets/reset", "reset_offsets", handle_reset_offsets, {group(kRead)});
  add(V::get, "/groups/{group}/offsets", "group_offsets", handle_group_offsets, {group(kDescribe)});
  // READ on each topic of the body: asked by the handler.
  add(V::post, "/groups/{group}/offsets", "commit_offsets", handle_commit_offsets, {group(kRead)});
  add(V::get, "/groups/{group}/lag", "group_lag", handle_group_lag, {group(kDescribe)});
  add(V::get, "/groups/{group}/topics/{topic}/records", "group_fetch", handle_group_fetch,
      {group(kRead), topic(kRead)});
  // The web console's files: no broker data in them (the console reads it
  // from the routes above, each with its own Need).
  add(V::get, "/", "console_root", handle_console_root);
  add(V::get, "/ui/{*asset}", "console", handle_console);
}

void Router::add(bhttp::verb method, const std::string& path, const char* name, Handler handler,
                 std::initializer_list<Need> needs) {
  Route r{method, {}, name, handler, {}};
  size_t start = path == "/" ? path.size() + 1 : 1;  // "/": no segment
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    r.pattern.push_back(path.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  for (const Need& n : needs) {
    Check c{n.resource_type, n.operation, -1};
    if (n.resource_type != KEEL_RESOURCE_CLUSTER) {
      const std::string wanted = n.resource_type == KEEL_RESOURCE_TOPIC   ? "{topic}"
                                 : n.resource_type == KEEL_RESOURCE_GROUP ? "{group}"
                                                                          : "";
      int k = 0;
      for (const auto& p : r.pattern) {
        if (p.empty() || p.front() != '{') continue;
        if (p == wanted) c.param = k;
        ++k;
      }
      if (c.param < 0) {
        throw std::logic_error(std::string("HTTP route ") + name + " (" + path + ") needs " +
                               operation_name(n.operation) + " on a " + resource_type_name(n.resource_type) +
                               " its path does not name");
      }
    }
    r.checks.push_back(c);
  }
  routes_.push_back(std::move(r));
}

void Router::authorize(const Route& r, const Exchange& x) {
  for (const Check& c : r.checks) {
    const std::string_view name =
        c.param < 0 ? kClusterResource : std::string_view(x.request.params[static_cast<size_t>(c.param)]);
    require(x, c.resource_type, c.operation, name);
  }
}

bool Router::match(const Route& r, const std::vector<std::string>& path, std::vector<std::string>* params) {
  // A last "{*name}" takes the rest of the path (no segment or several),
  // joined by '/'.
  const bool rest = !r.pattern.empty() && r.pattern.back().starts_with("{*");
  const size_t fixed = r.pattern.size() - (rest ? 1 : 0);
  if (rest ? path.size() < fixed : path.size() != fixed) return false;
  params->clear();
  for (size_t i = 0; i < path.size(); ++i) {
    if (i >= fixed) {
      if (i == fixed) params->emplace_back();
      params->back() += (i == fixed ? "" : "/") + path[i];
      continue;
    }
    const std::string& p = r.pattern[i];
    if (!p.empty() && p.front() == '{') {
      params->push_back(path[i]);
    } else if (p != path[i]) {
      return false;
    }
  }
  if (rest && path.size() == fixed) params->emplace_back();
  return true;
}

void Router::check_params(const Route& r, const std::vector<std::string>& params) {
  size_t k = 0;
  for (const auto& p : r.pattern) {
    if (p.empty() || p.front() != '{') continue;
    const size_t from = p[1] == '*' ? 2 : 1;
    const std::string name = p.substr(from, p.size() - from - 1);
    const std::string what = "path parameter '" + name + "'";
    // Every name reaches the broker as a C string; a topic name that breaks
    // Kafka's rule cannot exist, so it is a 400 rather than a 404.
    if (name == "topic") {
      check_topic_name(what, params[k]);
    } else {
      check_text(what, params[k]);
    }
    ++k;
  }
}

std::string Router::dispatch(const ExchangePtr& x) const {
  std::string allowed;
  std::vector<std::string> params;
  for (const auto& r : routes_) {
    if (!match(r, x->request.path, &params)) continue;
    if (r.method != x->request.method) {
      allowed += (allowed.empty() ? "" : ", ") + std::string(bhttp::to_string(r.method));
      continue;
    }
    try {
      check_params(r, params);
      x->request.params = std::move(params);
      authorize(r, *x);
      r.handler(x);
    } catch (...) {
      x->respond(response_for_current_exception(x->request.target));
    }
    return r.name;
  }
  std::string path;
  for (const auto& s : x->request.path) path += "/" + s;
  if (path.empty()) path = "/";
  if (!allowed.empty()) {
    Response r = error_response(bhttp::status::method_not_allowed, "method_not_allowed",
                                "method " + std::string(bhttp::to_string(x->request.method)) +
                                    " is not allowed on " + path + "; allowed: " + allowed);
    r.headers.emplace_back("Allow", allowed);
    x->respond(std::move(r));
    return "method_not_allowed";
  }
  x->respond(error_response(bhttp::status::not_found, "unknown_route",
                            "no endpoint " + path + "; see docs/protocol.md, section HTTP endpoints"));
  return "unknown_route";
}

}  // namespace keel::web
