// The HTTP transport's own settings ([transports.http], documented in
// docs/configuration.md) and the topic settings a client posts as JSON,
// turned into TOML for the broker: what comes out must parse as TOML to the
// same values, whatever quotes, escapes or numbers the client sent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <keel/plugin.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "support/http_refusal.hpp"
#include "support/plugin_fixture.hpp"
#include "transport/http/settings.hpp"
#include "transport/http/settings_toml.hpp"

namespace keel::web {
namespace {

using keel::test::refusal;
using ::testing::HasSubstr;

Settings read_settings(const std::string& toml) {
  test::TestHost host;
  test::TestConfig config(toml);
  return Settings::read(sdk::Config(host.get(), config.get()));
}

std::string invalid_setting(const std::string& toml) {
  try {
    read_settings(toml);
  } catch (const sdk::Error& e) {
    EXPECT_EQ(e.code(), KEEL_ERR_INVALID_ARGUMENT);
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << toml;
  return "";
}

TEST(HttpSettings, DefaultsAreTheDocumentedOnes) {
  const Settings s = read_settings("");
  EXPECT_EQ(s.listen_host, "127.0.0.1");
  EXPECT_EQ(s.listen_port, 8080);
  EXPECT_EQ(s.threads, 2);
  EXPECT_EQ(s.max_body_bytes, 10 * 1024 * 1024);
  EXPECT_EQ(s.max_long_poll_ms, 60000);
  EXPECT_EQ(s.header_timeout_ms, 10000);
}

TEST(HttpSettings, ListenTakesHostPortWithBracketedIpv6) {
  const Settings v6 = read_settings("listen = \"[::1]:0\"");
  EXPECT_EQ(v6.listen_host, "::1");
  EXPECT_EQ(v6.listen_port, 0);
  const Settings v4 = read_settings("listen = \"0.0.0.0:65535\"");
  EXPECT_EQ(v4.listen_host, "0.0.0.0");
  EXPECT_EQ(v4.listen_port, 65535);
}

TEST(HttpSettings, OutOfRangeValuesAreRefusedNamingTheKey) {
  EXPECT_THAT(invalid_setting("listen = \"8080\""), HasSubstr("listen must be host:port"));
  EXPECT_THAT(invalid_setting("listen = \":8080\""), HasSubstr("listen must be host:port"));
  for (const char* port : {"65536", "-1", "80x", "", "99999999999999999999"}) {
    EXPECT_THAT(invalid_setting(std::string("listen = \"h:") + port + "\""),
                HasSubstr("transport 'http': listen port must be 0..65535"))
        << port;
  }
  EXPECT_THAT(invalid_setting("threads = 0"), HasSubstr("threads must be 1..256, got 0"));
  EXPECT_THAT(invalid_setting("threads = 257"), HasSubstr("threads must be 1..256"));
  EXPECT_THAT(invalid_setting("max_body_bytes = 1023"), HasSubstr("max_body_bytes must be >= 1024"));
  EXPECT_THAT(invalid_setting("max_long_poll_ms = 3600001"),
              HasSubstr("max_long_poll_ms must be 0..3600000"));
  EXPECT_THAT(invalid_setting("max_long_poll_ms = -1"), HasSubstr("max_long_poll_ms"));
  EXPECT_THAT(invalid_setting("header_timeout_ms = 0"), HasSubstr("header_timeout_ms must be >= 1"));
  EXPECT_THAT(invalid_setting("max_connections = 0"),
              HasSubstr("transport 'http': max_connections must be >= 1"));
}

// settings_to_toml's text, parsed back by a TOML parser.
toml::table as_toml(const std::string& json_text) {
  const std::string text = settings_to_toml(nlohmann::json::parse(json_text));
  try {
    return toml::parse(text);
  } catch (const toml::parse_error& e) {
    ADD_FAILURE() << "not TOML: " << e.what() << "\n" << text;
    return {};
  }
}

TEST(HttpSettingsToml, ValuesArriveAsTheSameTomlTypesAndValues) {
  const toml::table t = as_toml(
      R"({"partitions": 3, "ratio": 0.5, "whole_float": 3.0, "big": 1e300, "neg": -7, "on": true,
          "name": "a \"quoted\" \\ back\tslash\u0001", "list": [1, -2, 3], "words": ["x", "y"],
          "plugins": {"time": {"retention_ms": 1000}}})");
  EXPECT_EQ(t["partitions"].value<int64_t>(), 3);
  EXPECT_EQ(t["ratio"].value<double>(), 0.5);
  ASSERT_TRUE(t["whole_float"].is_floating_point());  // not turned into the integer 3
  EXPECT_EQ(t["whole_float"].value<double>(), 3.0);
  EXPECT_EQ(t["big"].value<double>(), 1e300);
  EXPECT_EQ(t["neg"].value<int64_t>(), -7);
  EXPECT_EQ(t["on"].value<bool>(), true);
  EXPECT_EQ(t["name"].value<std::string>(), "a \"quoted\" \\ back\tslash\x01");
  ASSERT_TRUE(t["list"].is_array());
  EXPECT_EQ(t["list"][1].value<int64_t>(), -2);
  EXPECT_EQ(t["words"][1].value<std::string>(), "y");
  EXPECT_EQ(t["plugins"]["time"]["retention_ms"].value<int64_t>(), 1000);
}

TEST(HttpSettingsToml, KeysThatAreNotBareWordsStayOneKey) {
  const toml::table t = as_toml(R"({"a.b": 1, "with space": 2, "qu\"ote": 3})");
  EXPECT_EQ(t["a.b"].value<int64_t>(), 1);  // not a table a with key b
  EXPECT_EQ(t["with space"].value<int64_t>(), 2);
  EXPECT_EQ(t["qu\"ote"].value<int64_t>(), 3);
}

TEST(HttpSettingsToml, WhatTomlCannotHoldIsRefusedNamingTheKey) {
  keel::test::expect_refused(
      {
          {R"([1])", "\"settings\" must be an object, got array"},
          {R"({"a": null})", "setting 'a' has an unsupported type (null)"},
          {R"({"a": [[1]]})", "setting 'a[0]' must be a string, number or boolean, got array"},
          {R"({"a": [{"b": 1}]})", "setting 'a[0]' must be a string, number or boolean, got object"},
          {R"({"a": [1, "x"]})", "setting 'a' mixes value types"},
          {R"({"a": [1, 1.5]})", "setting 'a' mixes value types"},
          {R"({"p": {"q": {"r": null}}})", "setting 'p.q.r' has an unsupported type"},
          {R"({"big": 18446744073709551615})", "setting 'big' is too large for a 64-bit integer"},
      },
      [](const nlohmann::json& body) { settings_to_toml(body); });
  // Integers of either sign mix freely: both are TOML integers.
  EXPECT_EQ(as_toml(R"({"a": [-1, 2]})")["a"][0].value<int64_t>(), -1);
}

}  // namespace
}  // namespace keel::web
