#include "router.hpp"

#include "handlers.hpp"
#include "names.hpp"

namespace keel::web {

Router::Router() {
  using V = bhttp::verb;
  add(V::get, "/health", "health", handle_health);
  add(V::get, "/ready", "ready", handle_ready);
  add(V::get, "/metrics", "metrics", handle_metrics);
  add(V::get, "/cluster", "cluster", handle_cluster);
  add(V::get, "/topics", "list_topics", handle_list_topics);
  add(V::post, "/topics", "create_topic", handle_create_topic);
  add(V::get, "/topics/{topic}", "describe_topic", handle_describe_topic);
  add(V::delete_, "/topics/{topic}", "delete_topic", handle_delete_topic);
  add(V::post, "/topics/{topic}/records", "produce", handle_produce);
  add(V::post, "/producers", "init_producer", handle_init_producer);
  add(V::post, "/topics/{topic}/partitions", "create_partitions", handle_create_partitions);
  add(V::get, "/topics/{topic}/partitions/{partition}", "partition", handle_partition);
  add(V::post, "/topics/{topic}/partitions/{partition}/delete-records", "delete_records",
      handle_delete_records);
  add(V::get, "/topics/{topic}/partitions/{partition}/records", "consume", handle_consume);
  add(V::get, "/groups", "list_groups", handle_list_groups);
  add(V::delete_, "/groups/{group}", "delete_group", handle_delete_group);
  add(V::get, "/groups/{group}/offsets", "group_offsets", handle_group_offsets);
  add(V::post, "/groups/{group}/offsets", "commit_offsets", handle_commit_offsets);
  add(V::get, "/groups/{group}/lag", "group_lag", handle_group_lag);
  add(V::get, "/groups/{group}/topics/{topic}/records", "group_fetch", handle_group_fetch);
}

void Router::add(bhttp::verb method, const std::string& path, const char* name, Handler handler) {
  Route r{method, {}, name, handler};
  size_t start = 1;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    r.pattern.push_back(path.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  routes_.push_back(std::move(r));
}

bool Router::match(const Route& r, const std::vector<std::string>& path, std::vector<std::string>* params) {
  if (r.pattern.size() != path.size()) return false;
  params->clear();
  for (size_t i = 0; i < path.size(); ++i) {
    const std::string& p = r.pattern[i];
    if (!p.empty() && p.front() == '{') {
      params->push_back(path[i]);
    } else if (p != path[i]) {
      return false;
    }
  }
  return true;
}

void Router::check_params(const Route& r, const std::vector<std::string>& params) {
  size_t k = 0;
  for (const auto& p : r.pattern) {
    if (p.empty() || p.front() != '{') continue;
    const std::string name = p.substr(1, p.size() - 2);
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
