// Records as the HTTP transport reads and writes them in JSON: base64 per
// RFC 4648 (its section 10 test vectors; padding required), UTF-8 per
// RFC 3629 (no overlong forms, surrogates or code points past U+10FFFF), and
// produce records whose every wrong type or range is a 400 naming the field
// (docs/protocol.md, "Conventions").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <keel/record_batch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "support/http_refusal.hpp"
#include "transport/http/json_records.hpp"

namespace keel::web {
namespace {

using keel::test::refusal;
using nlohmann::json;
using ::testing::HasSubstr;

TEST(HttpBase64, MatchesRfc4648TestVectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    std::string why;
    EXPECT_EQ(base64_decode(encoded, &why), plain) << why;
  }
  // Every byte value survives, in the standard alphabet ('+' and '/').
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  std::string why;
  EXPECT_EQ(base64_decode(base64_encode(all), &why), all);
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
}

TEST(HttpBase64, MalformedTextIsRefusedWithAReason) {
  for (const char* bad :
       {"Zg", "Zm9", "Zm9v!A==", "Zg==Zg==", "Z===", "====", "Zm=v", "Zm9v-_==", "Zm9v\n"}) {
    SCOPED_TRACE(bad);
    std::string why;
    EXPECT_EQ(base64_decode(bad, &why), std::nullopt);
    EXPECT_FALSE(why.empty());
  }
  std::string why;
  base64_decode("Zg", &why);
  EXPECT_THAT(why, HasSubstr("not a multiple of 4"));
}

TEST(HttpUtf8, AcceptsWellFormedTextOnly) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii\t\n"));
  EXPECT_TRUE(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_TRUE(valid_utf8("\xf4\x8f\xbf\xbf"));                           // U+10FFFF
  const char* bad[] = {
      "\x80",                  // a continuation byte alone
      "\xc3",                  // cut short
      "\xe2\x82",              // cut short
      "\xc0\x80",              // overlong NUL
      "\xe0\x80\xaf",          // overlong '/'
      "\xed\xa0\x80",          // a surrogate (U+D800)
      "\xf4\x90\x80\x80",      // U+110000
      "\xf8\x88\x80\x80\x80",  // five-byte form
      "\xc3\x28",              // a continuation expected
  };
  for (const char* b : bad) EXPECT_FALSE(valid_utf8(b)) << testing::PrintToString(std::string(b));
}

TEST(HttpRecords, ReadsEveryFieldOfAProducedRecord) {
  const auto r = parse_record(json::parse(R"({"key": "k", "value": "aGk=", "value_encoding": "base64",
      "headers": {"h1": "v", "h2": null}, "partition": 3, "timestamp": 1700000000000})"),
                              0, Encoding::Text);
  EXPECT_EQ(r.key, "k");
  EXPECT_EQ(r.value, "hi");
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0].key, "h1");
  EXPECT_EQ(r.headers[0].value, "v");
  EXPECT_EQ(r.headers[1].value, std::nullopt);
  EXPECT_EQ(r.partition, 3);
  EXPECT_EQ(r.timestamp, 1700000000000);
}

TEST(HttpRecords, NullAndAbsentAreNullAndEmptyIsEmpty) {
  const auto tombstone = parse_record(json::parse(R"({"key": "k", "value": null})"), 0, Encoding::Text);
  EXPECT_EQ(tombstone.value, std::nullopt);
  const auto bare = parse_record(json::object(), 0, Encoding::Base64);
  EXPECT_EQ(bare.key, std::nullopt);
  EXPECT_EQ(bare.value, std::nullopt);
  EXPECT_EQ(bare.partition, std::nullopt);
  EXPECT_EQ(bare.timestamp, std::nullopt);
  const auto empty = parse_record(json::parse(R"({"value": ""})"), 0, Encoding::Base64);
  EXPECT_EQ(empty.value, "");
}

TEST(HttpRecords, HeadersMayBeAnArrayOfKeyValueObjects) {
  const auto r = parse_record(json::parse(R"({"headers": [{"key": "a", "value": "AQI="}, {"key": "a"}]})"), 0,
                              Encoding::Base64);
  ASSERT_EQ(r.headers.size(), 2u);  // repeated keys are kept, as Kafka does
  EXPECT_EQ(r.headers[0].value, std::string("\x01\x02", 2));
  EXPECT_EQ(r.headers[1].value, std::nullopt);
}

TEST(HttpRecords, WrongTypesAndRangesNameTheField) {
  keel::test::expect_refused(
      {
          {R"([1])", "records[4] must be an object, got array"},
          {R"({"vaule": "x"})", "records[4] has unknown field \"vaule\""},
          {R"({"value": 5})", "records[4].value must be a string or null, got integer"},
          {R"({"key": {"a": 1}})", "records[4].key must be a string or null, got object"},
          {R"({"value": "!!", "value_encoding": "base64"})", "records[4].value is not valid base64"},
          {R"({"value": "x", "value_encoding": "hex"})",
           "records[4].value_encoding must be \"text\" or \"base64\""},
          {R"({"value_encoding": 1})",
           "records[4].value_encoding must be \"text\" or \"base64\", got integer"},
          {R"({"partition": -1})", "records[4].partition must be an integer >= 0, got -1"},
          {R"({"partition": 2147483648})", "records[4].partition must be an integer >= 0"},
          {R"({"partition": 18446744073709551615})", "records[4].partition must be an integer >= 0"},
          {R"({"partition": 1.0})", "records[4].partition must be an integer >= 0"},
          {R"({"partition": "1"})", "records[4].partition must be an integer >= 0"},
          {R"({"timestamp": -1})", "records[4].timestamp must be an integer >= 0"},
          {R"({"timestamp": 9223372036854775808})", "records[4].timestamp must be an integer >= 0"},
          {R"({"timestamp": 1.5})", "records[4].timestamp must be an integer >= 0"},
          {R"({"headers": "h"})", "records[4].headers must be an object"},
          {R"({"headers": {"h": 1}})", "records[4].headers.h must be a string or null, got integer"},
          {R"({"headers": [1]})", "records[4].headers[0] must be an object"},
          {R"({"headers": [{"value": "v"}]})", "records[4].headers[0].key must be a string"},
      },
      [](const nlohmann::json& body) { parse_record(body, 4, Encoding::Text); });
}

TEST(HttpRecords, StoredBytesGoOutAsTextOnlyWhenTheyAreUtf8) {
  batch::Record rec;
  rec.offset = 7;
  rec.timestamp = 1000;
  rec.key = std::nullopt;
  rec.value = std::string("\xff\x00", 2);
  rec.headers = {{"h", std::string("ok")}};
  const json text = record_to_json(rec, Encoding::Text);
  EXPECT_EQ(text["offset"], 7);
  EXPECT_EQ(text["timestamp"], 1000);
  EXPECT_TRUE(text["key"].is_null());
  EXPECT_FALSE(text.contains("key_encoding"));
  EXPECT_EQ(text["value"], "/wA=");
  EXPECT_EQ(text["value_encoding"], "base64");
  EXPECT_EQ(text["headers"][0]["key"], "h");
  EXPECT_EQ(text["headers"][0]["value"], "ok");
  EXPECT_FALSE(text["headers"][0].contains("value_encoding"));
  const json b64 = record_to_json(rec, Encoding::Base64);
  EXPECT_EQ(b64["headers"][0]["value"], "b2s=");
  EXPECT_EQ(b64["headers"][0]["value_encoding"], "base64");
}

TEST(HttpRecords, ARecordReadCanBeProducedAgainAsItIs) {
  batch::Record rec;
  rec.offset = 1;
  rec.key = std::string("k\xc3\xa9");
  rec.value = std::string("\x00\xff\x10", 3);
  rec.headers = {{"h", std::nullopt}};
  json out = record_to_json(rec, Encoding::Text);
  out.erase("offset");
  out.erase("timestamp");
  const auto back = parse_record(out, 0, Encoding::Text);
  EXPECT_EQ(back.key, rec.key);
  EXPECT_EQ(back.value, rec.value);
  ASSERT_EQ(back.headers.size(), 1u);
  EXPECT_EQ(back.headers[0].value, std::nullopt);
}

}  // namespace
}  // namespace keel::web
