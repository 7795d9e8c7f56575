// The HTTP transport's checks of client input, piece by piece: the JSON
// nesting limit, parser errors as 400s, NUL and invalid UTF-8 in names and
// query values, and JSON library exceptions answered as client mistakes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "errors.hpp"
#include "exchange.hpp"
#include "json_body.hpp"
#include "names.hpp"
#include "query.hpp"
#include "settings_toml.hpp"
#include "support/http_refusal.hpp"

namespace {

using keel::test::refusal;
using ::testing::HasSubstr;
namespace bhttp = boost::beast::http;

std::string nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(JsonBody, NestingIsCountedOutsideStringsOnly) {
  EXPECT_EQ(keel::web::json_nesting_exceeds(nested(64), 64), std::nullopt);
  EXPECT_EQ(keel::web::json_nesting_exceeds(nested(65), 64), 64u);
  EXPECT_EQ(keel::web::json_nesting_exceeds(R"({"a": "[[[[[[", "b": [1]})", 2), std::nullopt);
  // An escaped quote does not end the string, so its brackets stay text.
  EXPECT_EQ(keel::web::json_nesting_exceeds(R"(["\"[[[[", 1])", 1), std::nullopt);
  EXPECT_EQ(keel::web::json_nesting_exceeds(R"([{"a": [[]]}])", 3), 8u);
}

TEST(JsonBody, TooDeepBodiesAreRefusedBeforeParsing) {
  EXPECT_THAT(refusal([] { keel::web::parse_json_body(nested(13000)); }), HasSubstr("deeper than 64 levels"));
  EXPECT_EQ(keel::web::parse_json_body(nested(64)).size(), 1u);
}

TEST(JsonBody, ParserExceptionsAreClientMistakes) {
  EXPECT_THAT(refusal([] { keel::web::parse_json_body(R"({"t": 1e999})"); }), HasSubstr("number overflow"));
  EXPECT_THAT(refusal([] { keel::web::parse_json_body("{\"v\": \"\xff\"}"); }), HasSubstr("UTF-8"));
  EXPECT_THAT(refusal([] { keel::web::parse_json_body("{\"v\": "); }), HasSubstr("not valid JSON"));
}

TEST(Names, NulAndInvalidUtf8AreRefusedNamingTheParameter) {
  EXPECT_THAT(refusal([] { keel::web::check_text("path parameter 'group'", std::string("g\0x", 3)); }),
              HasSubstr("path parameter 'group' holds a NUL byte at position 1 ('g\\x00x')"));
  EXPECT_THAT(refusal([] { keel::web::check_text("query parameter 'topic'", "\xc3"); }),
              HasSubstr("query parameter 'topic' is not valid UTF-8"));
  keel::web::check_text("metadata", "caf\xc3\xa9 \t ok");  // UTF-8 and tabs are fine
}

TEST(Names, TopicNamesFollowKafkasRule) {
  keel::web::check_topic_name("t", "orders.v2_eu-1");
  EXPECT_THAT(refusal([] { keel::web::check_topic_name("t", std::string("victim\0junk", 11)); }),
              HasSubstr("NUL"));
  EXPECT_THAT(refusal([] { keel::web::check_topic_name("t", std::string(250, 'x')); }),
              HasSubstr("... (250 bytes)"));
  EXPECT_THAT(refusal([] { keel::web::check_topic_name("t", ".."); }), HasSubstr("invalid topic name"));
  EXPECT_THAT(refusal([] { keel::web::check_topic_name("t", "a b"); }), HasSubstr("[a-zA-Z0-9._-]"));
}

TEST(Query, DecodedValuesAreChecked) {
  EXPECT_THAT(refusal([] { keel::web::Query q("topic=victim%00junk"); }),
              HasSubstr("query parameter 'topic' holds a NUL"));
  EXPECT_THAT(refusal([] { keel::web::Query q("topic=%ff"); }), HasSubstr("not valid UTF-8"));
  EXPECT_THAT(refusal([] { keel::web::Query q("%00=1"); }), HasSubstr("query parameter name"));
  keel::web::Query q("topic=caf%C3%A9&x=a+b");
  EXPECT_EQ(q.get("topic"), "caf\xc3\xa9");
  EXPECT_EQ(q.get("x"), "a b");
}

TEST(Query, PathSegmentsAreDecodedForTheRouterToCheck) {
  std::string_view query;
  const auto segments = keel::web::split_path("/topics/victim%00junk?offset=1", &query);
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(segments[1], std::string("victim\0junk", 11));
  EXPECT_EQ(query, "offset=1");
}

TEST(SettingsToml, NulInSettingsIsRefusedNamingTheKey) {
  const auto with_nul = nlohmann::json::parse(R"({"plugins": {"size": {"max\u0000": 1}}})");
  EXPECT_THAT(refusal([&] { keel::web::settings_to_toml(with_nul); }), HasSubstr("plugins.size.max\\x00"));
  const auto value_nul = nlohmann::json::parse(R"({"flush_mode": "os\u0000"})");
  EXPECT_THAT(refusal([&] { keel::web::settings_to_toml(value_nul); }), HasSubstr("setting 'flush_mode'"));
}

TEST(Errors, JsonLibraryExceptionsAnswer400NotA500) {
  keel::web::Response r;
  try {
    nlohmann::json("text").get<int64_t>();  // a type_error, as from an unchecked client value
  } catch (...) {
    r = keel::web::response_for_current_exception();
  }
  EXPECT_EQ(r.status, bhttp::status::bad_request);
  EXPECT_THAT(r.body, HasSubstr("bad_request"));
  try {
    throw std::runtime_error("the broker's own failure");
  } catch (...) {
    r = keel::web::response_for_current_exception();
  }
  EXPECT_EQ(r.status, bhttp::status::internal_server_error);
}

}  // namespace
