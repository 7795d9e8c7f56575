// The web console's files as the HTTP transport embeds them
// (plugins/transport/http/embed_console.cmake): every file of console/ and
// Chart.js is in the table, byte for byte, with its content type and an
// ETag that follows the content; "" is the index; an unknown path is none.
// Serving them (status, headers, 304, redirect, Basic authentication) is
// tests/integration/console_test.py.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "transport/http/console_assets.hpp"

namespace keel::web {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(HttpConsoleAssets, EveryConsoleFileIsEmbeddedAsItIs) {
  const fs::path dir = fs::path(KEEL_TEST_SOURCE_DIR) / "plugins/transport/http/console";
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    ++files;
    const std::string rel = fs::relative(e.path(), dir).generic_string();
    const ConsoleAsset* a = find_console_asset(rel);
    ASSERT_NE(a, nullptr) << rel << " is not embedded: re-run cmake (the file list is globbed)";
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(a->bytes), a->size), read_file(e.path())) << rel;
  }
  EXPECT_EQ(console_assets().size(), files + 1);  // and Chart.js
}

TEST(HttpConsoleAssets, TypesEtagsIndexAndChartJs) {
  std::set<std::string> etags;
  for (const auto& a : console_assets()) {
    const std::string path(a.path);
    const std::string type(a.content_type);
    const std::string want = path.ends_with(".js")     ? "text/javascript; charset=utf-8"
                             : path.ends_with(".css")  ? "text/css; charset=utf-8"
                             : path.ends_with(".html") ? "text/html; charset=utf-8"
                             : path.ends_with(".svg")  ? "image/svg+xml"
                                                       : "?";
    EXPECT_EQ(type, want) << path;
    ASSERT_GE(a.etag.size(), 3u) << path;
    EXPECT_EQ(a.etag.front(), '"') << path;
    EXPECT_EQ(a.etag.back(), '"') << path;
    EXPECT_TRUE(etags.insert(std::string(a.etag)).second) << path << " shares its ETag";
  }
  const ConsoleAsset* index = find_console_asset("");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->path, "index.html");
  const ConsoleAsset* chart = find_console_asset("vendor/chart.min.js");
  ASSERT_NE(chart, nullptr);
  EXPECT_NE(std::string(reinterpret_cast<const char*>(chart->bytes), 200).find("Chart.js v3"),
            std::string::npos);
  EXPECT_EQ(find_console_asset("nope.js"), nullptr);
  EXPECT_EQ(find_console_asset("../index.html"), nullptr);
}

}  // namespace
}  // namespace keel::web
