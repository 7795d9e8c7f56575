// Maps method and path to a handler. Paths are matched segment by segment;
// "{name}" segments capture a value into Request::params, and a last
// "{*name}" the rest of the path (the console's files). Each route also
// names what its principal needs from the broker's authorizer (a Need): the
// router asks before the handler runs and answers 403 for a "no", so that a
// route cannot forget to ask, and a denied client learns nothing about the
// resource (not even whether it exists).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "exchange.hpp"

namespace keel::web {

class Router {
 public:
  using Handler = void (*)(const ExchangePtr&);
  Router();

  // Runs the matching handler (a thrown error becomes the answer; no match
  // is 404, a path known for other methods 405) and returns the route's name,
  // the `api` label of the request metrics.
  std::string dispatch(const ExchangePtr& x) const;

  // An operation (KEEL_ACL_OP_*) the principal must be allowed on a
  // resource: a topic is the route's {topic}, a group its {group}, the
  // cluster the one cluster resource.
  struct Need {
    int8_t resource_type;  // KEEL_RESOURCE_TOPIC, _GROUP or _CLUSTER
    int8_t operation;
  };

 private:
  // A Need resolved against the route's path: which {placeholder} names the
  // resource (-1: the cluster).
  struct Check {
    int8_t resource_type;
    int8_t operation;
    int param;
  };
  struct Route {
    bhttp::verb method;
    std::vector<std::string> pattern;
    const char* name;
    Handler handler;
    std::vector<Check> checks;
  };
  // Throws std::logic_error for a Need the path cannot name (a table bug,
  // found when the transport starts).
  void add(bhttp::verb method, const std::string& path, const char* name, Handler handler,
           std::initializer_list<Need> needs = {});
  // HttpError 403 for the first check the principal fails.
  static void authorize(const Route& r, const Exchange& x);
  static bool match(const Route& r, const std::vector<std::string>& path, std::vector<std::string>* params);
  // HttpError 400 naming the {placeholder} whose value no name may hold.
  static void check_params(const Route& r, const std::vector<std::string>& params);

  std::vector<Route> routes_;
};

}  // namespace keel::web
