// Config text nested very deep gives a clear error, never a crash: toml++
// stops inline values at 256 levels itself, but parses dotted keys and table
// headers one stack frame per part (50,000 parts crashed it), so the kernel
// bounds them before parsing: in the file, in --set and in topic settings.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "config/config.hpp"
#include "config/toml_depth.hpp"

namespace keel {
namespace {

using ::testing::HasSubstr;

std::string dotted(int parts) {
  std::string s = "a";
  for (int i = 1; i < parts; ++i) s += ".a";
  return s;
}

template <class Fn>
std::string refusal_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), KEEL_ERR_INVALID_ARGUMENT);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(ConfigNesting, DeepDottedKeysAndHeadersInTheFileAreRefusedWithTheLine) {
  const std::string header = "[broker]\n\n[" + dotted(100000) + "]\nx = 1\n";
  EXPECT_THAT(refusal_of([&] { parse_config(header, "deep.toml"); }),
              HasSubstr("deep.toml:3: a dotted key or table header has more than 32 parts"));
  const std::string key = "[broker]\n" + dotted(100000) + " = 1\n";
  EXPECT_THAT(refusal_of([&] { parse_config(key, "deep.toml"); }), HasSubstr("deep.toml:2:"));
  const std::string quoted = "x = 1\n\"a\".\"b\"." + dotted(40) + " = 2\n";
  EXPECT_THAT(refusal_of([&] { parse_config(quoted, "q.toml"); }), HasSubstr("q.toml:2:"));
}

TEST(ConfigNesting, DeepInlineValuesAreRefusedByTheTomlParser) {
  const std::string inline_tables = "[broker]\nx = " + std::string(100000, '[') + std::string(100000, ']');
  EXPECT_THAT(refusal_of([&] { parse_config(inline_tables, "deep.toml"); }),
              HasSubstr("exceeded maximum nested value depth of 256"));
}

TEST(ConfigNesting, DeepSetOverridesAreRefused) {
  EXPECT_THAT(refusal_of([] { parse_config("", "c.toml", {"topics.t." + dotted(60000) + "=1"}); }),
              HasSubstr("more than 32"));
  EXPECT_THAT(refusal_of([] { parse_config("", "c.toml", {"broker.x={" + dotted(60000) + "=1}"}); }),
              HasSubstr("more than 32 parts"));
}

TEST(ConfigNesting, DeepTopicSettingsAreRefused) {
  const BrokerConfig cfg = parse_config("", "c.toml");
  EXPECT_THAT(
      refusal_of([&] { cfg.topic_from_toml("t", dotted(50000) + " = 1\n", ConfigOrigin{"settings of t"}); }),
      HasSubstr("settings of t:1: a dotted key or table header has more than 32 parts"));
}

TEST(ConfigNesting, RealKeysStringsAndValuesPass) {
  // Dots inside strings, comments and numbers are not key parts.
  check_toml_key_depth("a.b.c.d = \"" + dotted(100) + "\"\n# " + dotted(100) + "\nx = 1.5\n", "ok.toml");
  check_toml_key_depth("s = '''\n" + dotted(100) + "\n'''\nt = \"\\\"" + dotted(100) + "\"\n", "ok.toml");
  check_toml_key_depth(dotted(32) + " = 1\n", "ok.toml");
  EXPECT_THAT(refusal_of([] { check_toml_key_depth(dotted(33) + " = 1\n", "x.toml"); }),
              HasSubstr("x.toml:1:"));
}

}  // namespace
}  // namespace keel
