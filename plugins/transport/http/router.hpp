// Maps method and path to a handler. Paths are matched segment by segment;
// "{name}" segments capture a value into Request::params.
#pragma once

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

 private:
  struct Route {
    bhttp::verb method;
    std::vector<std::string> pattern;
    const char* name;
    Handler handler;
  };
  void add(bhttp::verb method, const std::string& path, const char* name, Handler handler);
  static bool match(const Route& r, const std::vector<std::string>& path, std::vector<std::string>* params);
  // HttpError 400 naming the {placeholder} whose value no name may hold.
  static void check_params(const Route& r, const std::vector<std::string>& params);

  std::vector<Route> routes_;
};

}  // namespace keel::web
