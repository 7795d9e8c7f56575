// The web console's files (console/*, and Chart.js from Debian's
// libjs-chart.js under vendor/), compiled into the plugin by
// embed_console.cmake: the console works offline and cannot drift from the
// broker that serves it.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace keel::web {

struct ConsoleAsset {
  std::string_view path;          // as served under /ui/, e.g. "pages/topics.js"
  std::string_view content_type;  // with charset for text
  std::string_view etag;          // quoted, from the content's SHA-256
  const unsigned char* bytes;
  size_t size;
};

// Every asset (generated console_assets.cpp).
const std::vector<ConsoleAsset>& console_assets();

// The asset at `path` ("" is index.html), nullptr if none.
const ConsoleAsset* find_console_asset(std::string_view path);

}  // namespace keel::web
