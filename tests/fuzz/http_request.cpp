// Fuzzes what the HTTP transport makes of a request's target and body before
// it touches the broker: path splitting and percent-decoding, the query
// string and its typed getters, the JSON body, produce records (text and
// base64) and topic settings turned from JSON into TOML.
// Input: the request target, a newline, then the body.
// Oracles: a client's mistake must be an HttpError with a 4xx status (any
// other exception would be a 500 for a client error); settings_to_toml must
// write TOML that parses; base64 must round-trip.
#include <toml++/toml.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../../plugins/transport/http/errors.hpp"
#include "../../plugins/transport/http/json_body.hpp"
#include "../../plugins/transport/http/json_records.hpp"
#include "../../plugins/transport/http/query.hpp"
#include "../../plugins/transport/http/settings_toml.hpp"

namespace {

using namespace keel::web;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "http_request fuzzer: %s\n", what.c_str());
  std::abort();
}

// Runs f; an HttpError must be a client error, anything else escapes to
// libFuzzer as a crash.
template <class F>
void client_step(const char* what, F&& f) {
  try {
    f();
  } catch (const HttpError& e) {
    const int status = static_cast<int>(e.status());
    if (status < 400 || status > 499)
      fail(std::string(what) + " answered " + std::to_string(status) + ": " + e.what());
  }
}

void target(std::string_view text) {
  std::string_view query_text;
  std::vector<std::string> segments;
  client_step("split_path", [&] { segments = split_path(text, &query_text); });
  for (const auto& s : segments) client_step("path_int", [&] { (void)path_int("partition", s); });
  client_step("query", [&] {
    const Query q(query_text);
    client_step("get", [&] { (void)q.get("key"); });
    client_step("get_int", [&] { (void)q.get_int("offset", 0, INT64_MAX); });
    client_step("get_int", [&] { (void)q.get_int("max", 1, 10000, 100); });
    client_step("get_bool", [&] { (void)q.get_bool("wait", false); });
    client_step("get_choice", [&] { (void)q.get_choice("format", {"text", "base64"}, "text"); });
    client_step("allow_only", [&] { q.allow_only({"offset", "max", "format", "wait", "key"}); });
  });
}

void records(const nlohmann::json& body) {
  Encoding enc = Encoding::Text;
  if (auto f = body.find("value_format"); f != body.end()) {
    client_step("parse_encoding", [&] { enc = parse_encoding(*f, "value_format"); });
  }
  auto list = body.find("records");
  if (list == body.end() || !list->is_array()) return;
  for (size_t i = 0; i < list->size(); ++i) {
    client_step("parse_record", [&] {
      IncomingRecord in = parse_record((*list)[i], i, enc);
      keel::batch::Record r;
      r.key = in.key;
      r.value = in.value;
      r.headers = in.headers;
      (void)record_to_json(r, Encoding::Text).dump();
      (void)record_to_json(r, Encoding::Base64).dump();
      if (in.value) {
        std::string why;
        if (base64_decode(base64_encode(*in.value), &why) != in.value) fail("base64 does not round-trip");
      }
    });
  }
}

void settings(const nlohmann::json& body) {
  auto s = body.find("settings");
  if (s == body.end() || s->is_null()) return;
  client_step("settings_to_toml", [&] {
    const std::string toml_text = settings_to_toml(*s);
    try {
      (void)toml::parse(toml_text);
    } catch (const toml::parse_error& e) {
      fail("settings_to_toml wrote TOML that does not parse (" + std::string(e.description()) + "):\n" +
           toml_text);
    }
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  target(input.substr(0, nl));
  if (nl == std::string_view::npos) return 0;
  nlohmann::json body;
  client_step("parse_json_body", [&] { body = parse_json_body(std::string(input.substr(nl + 1))); });
  if (!body.is_object()) return 0;
  records(body);
  settings(body);
  return 0;
}
