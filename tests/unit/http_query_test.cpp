// The HTTP transport's request target: percent-decoding (RFC 3986, with '+'
// as a space only in the query, as application/x-www-form-urlencoded has
// it), query parameters with typed getters, path segments. Every hostile
// input is a 400 naming the parameter, never a crash or a silent default.
// NUL and UTF-8 checks of decoded values are in http_input_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "support/http_refusal.hpp"
#include "transport/http/query.hpp"

namespace keel::web {
namespace {

using keel::test::refusal;
using ::testing::HasSubstr;

TEST(HttpPercentDecode, DecodesEitherCaseAndPlusOnlyInQueries) {
  EXPECT_EQ(percent_decode("a%2Fb%2fc", false), "a/b/c");
  EXPECT_EQ(percent_decode("%41%7e%7E", false), "A~~");
  EXPECT_EQ(percent_decode("a+b%2B", true), "a b+");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_EQ(percent_decode("", true), "");
  EXPECT_EQ(percent_decode("%25", false), "%");  // a literal percent sign
}

TEST(HttpPercentDecode, MalformedEscapesAreRefusedWithTheirPosition) {
  for (const char* bad : {"%", "abc%", "%4", "a%4", "%G1", "%1G", "%%41", "% 1"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(refusal([&] { percent_decode(bad, true); }), HasSubstr("malformed percent-escape"));
  }
  EXPECT_THAT(refusal([] { percent_decode("ok%zz", false); }), HasSubstr("at position 2"));
}

TEST(HttpQuery, SplitsPairsAndSkipsEmptyOnes) {
  const Query q("a=1&&b=&c&d=x%3Dy&e=1=2");
  EXPECT_EQ(q.get("a"), "1");
  EXPECT_EQ(q.get("b"), "");
  EXPECT_TRUE(q.has("c"));
  EXPECT_EQ(q.get("c"), "");
  EXPECT_EQ(q.get("d"), "x=y");
  EXPECT_EQ(q.get("e"), "1=2");  // only the first '=' separates
  EXPECT_FALSE(q.has("z"));
  EXPECT_EQ(q.get("z"), std::nullopt);
  EXPECT_FALSE(Query("").has(""));
}

TEST(HttpQuery, AParameterGivenTwiceIsRefused) {
  EXPECT_THAT(refusal([] { Query q("offset=1&offset=2"); }),
              HasSubstr("query parameter 'offset' is given more than once"));
  // Also when only the decoded names are equal.
  EXPECT_THAT(refusal([] { Query q("offset=1&%6Fffset=2"); }), HasSubstr("more than once"));
}

TEST(HttpQuery, IntegersMustBeWholeAndInRange) {
  const Query q("n=42&neg=-5&lead=007&big=9223372036854775807");
  EXPECT_EQ(q.get_int("n", 0, 100), 42);
  EXPECT_EQ(q.get_int("neg", -10, 10), -5);
  EXPECT_EQ(q.get_int("lead", 0, 10), 7);
  EXPECT_EQ(q.get_int("big", 0, INT64_MAX), INT64_MAX);
  EXPECT_EQ(q.get_int("absent", 0, 10), std::nullopt);
  EXPECT_EQ(q.get_int("absent", 0, 10, 3), 3);
  EXPECT_THAT(refusal([&] { q.get_int("n", 0, 10); }),
              HasSubstr("query parameter 'n' must be an integer between 0 and 10, got '42'"));
  EXPECT_THAT(refusal([&] { q.get_int("neg", 0, INT64_MAX); }), HasSubstr("must be an integer >= 0"));
}

TEST(HttpQuery, HostileNumbersAreRefusedNotWrappedOrTruncated) {
  for (const char* bad : {"9223372036854775808", "99999999999999999999999", "-9223372036854775809", "1.5",
                          "1e3", "+5", "%205", "5%20", "0x10", "", "abc", "5abc"}) {
    SCOPED_TRACE(bad);
    const Query q(std::string("n=") + bad);
    EXPECT_THAT(refusal([&] { q.get_int("n", INT64_MIN, INT64_MAX); }), HasSubstr("query parameter 'n'"));
  }
}

TEST(HttpQuery, BooleansAreTrueFalseOneOrZero) {
  const Query q("a=true&b=1&c=false&d=0&e=yes&f=TRUE");
  EXPECT_TRUE(q.get_bool("a", false));
  EXPECT_TRUE(q.get_bool("b", false));
  EXPECT_FALSE(q.get_bool("c", true));
  EXPECT_FALSE(q.get_bool("d", true));
  EXPECT_TRUE(q.get_bool("absent", true));
  EXPECT_THAT(refusal([&] { q.get_bool("e", false); }), HasSubstr("must be true or false, got 'yes'"));
  EXPECT_THAT(refusal([&] { q.get_bool("f", false); }), HasSubstr("got 'TRUE'"));
}

TEST(HttpQuery, ChoicesListTheAllowedValues) {
  const Query q("value_format=base64&bad=binary");
  EXPECT_EQ(q.get_choice("value_format", {"text", "base64"}, "text"), "base64");
  EXPECT_EQ(q.get_choice("absent", {"text", "base64"}, "text"), "text");
  EXPECT_THAT(refusal([&] {
                q.get_choice("bad", {"text", "base64"}, "text");
              }),
              HasSubstr("query parameter 'bad' must be 'text' or 'base64', got 'binary'"));
}

TEST(HttpQuery, UnknownParametersAreRefusedListingTheKnownOnes) {
  const Query q("offset=1&ofset=2");
  EXPECT_THAT(refusal([&] {
                q.allow_only({"offset", "max_records"});
              }),
              HasSubstr("unknown query parameter 'ofset'; this endpoint takes: offset, max_records"));
  EXPECT_THAT(refusal([&] { q.allow_only({}); }), HasSubstr("this endpoint takes none"));
  Query("offset=1").allow_only({"offset"});
}

TEST(HttpPath, SegmentsAreSplitOnRawSlashesOnly) {
  std::string_view query;
  auto s = split_path("//topics/a%2Fb/", &query);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0], "topics");
  EXPECT_EQ(s[1], "a/b");  // an encoded slash is part of the segment
  EXPECT_EQ(query, "");
  s = split_path("/a+b?x=1?y", &query);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0], "a+b");  // '+' is a plus in a path
  EXPECT_EQ(query, "x=1?y");
  EXPECT_TRUE(split_path("/", &query).empty());
  EXPECT_THAT(refusal([&] { split_path("/topics/%zz", &query); }), HasSubstr("malformed percent-escape"));
}

TEST(HttpPath, PathIntegersAreNonNegativeInt32s) {
  EXPECT_EQ(path_int("partition", "0"), 0);
  EXPECT_EQ(path_int("partition", "2147483647"), INT32_MAX);
  for (const char* bad : {"-1", "2147483648", "99999999999999999999", "1.0", "", " 1", "one"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(
        refusal([&] { path_int("partition", bad); }),
        HasSubstr("path parameter 'partition' must be an integer >= 0, got '" + std::string(bad) + "'"));
  }
}

}  // namespace
}  // namespace keel::web
