// The web console: GET /ui/<asset> serves the embedded files
// (console_assets.hpp), GET / redirects there. Static files carry no broker
// data, so their routes ask the authorizer nothing; the session's Basic
// authentication covers them as any other route (the browser's prompt for
// /ui/ then also covers the console's fetch() calls to the API, which the
// authorizer judges route by route).
#include <string>

#include "console_assets.hpp"
#include "handlers.hpp"

namespace keel::web {

const ConsoleAsset* find_console_asset(std::string_view path) {
  if (path.empty()) path = "index.html";
  for (const auto& a : console_assets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

void handle_console(const ExchangePtr& x) {
  // No query parameter means anything to a file; a cache-busting one is fine.
  const std::string& path = x->request.params[0];
  const ConsoleAsset* a = find_console_asset(path);
  if (!a) {
    throw HttpError(bhttp::status::not_found, "not_found",
                    "no console file /ui/" + path + "; the console starts at /ui/");
  }
  Response r;
  // The browser revalidates each time (a broker upgrade changes the files)
  // and gets 304 while the ETag matches.
  r.headers.emplace_back("ETag", std::string(a->etag));
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (x->request.if_none_match == a->etag) {
    r.status = bhttp::status::not_modified;
    r.content_type.clear();
    x->respond(std::move(r));
    return;
  }
  r.content_type = std::string(a->content_type);
  r.body.assign(reinterpret_cast<const char*>(a->bytes), a->size);
  x->respond(std::move(r));
}

void handle_console_root(const ExchangePtr& x) {
  Response r;
  r.status = bhttp::status::found;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "the console is at /ui/\n";
  r.headers.emplace_back("Location", "/ui/");
  x->respond(std::move(r));
}

}  // namespace keel::web
