// How the HTTP transport answers failures: the status and code for each
// broker status, as docs/protocol.md's error table gives them, and the one
// shape of every error body, {"error": {"code", "message"}}. Client
// mistakes are 4xx; only the broker's own failures are 5xx.
#include <gtest/gtest.h>

#include <keel/plugin.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "transport/http/errors.hpp"
#include "transport/http/exchange.hpp"

namespace keel::web {
namespace {

using S = bhttp::status;

// The answer for the exception `fn` throws.
template <class Fn>
Response answer_for(Fn&& fn) {
  try {
    fn();
  } catch (...) {
    return response_for_current_exception();
  }
  ADD_FAILURE() << "nothing thrown";
  return {};
}

TEST(HttpErrors, BrokerStatusesMapAsDocumented) {
  const struct {
    keel_status status;
    S http;
    const char* code;
  } table[] = {
      {KEEL_ERR_INVALID_ARGUMENT, S::bad_request, "bad_request"},
      {KEEL_ERR_OUT_OF_RANGE, S::bad_request, "offset_out_of_range"},
      {KEEL_ERR_NOT_FOUND, S::not_found, "not_found"},
      {KEEL_ERR_ALREADY_EXISTS, S::conflict, "already_exists"},
      {KEEL_ERR_FENCED, S::conflict, "fenced"},
      {KEEL_ERR_UNKNOWN_MEMBER, S::conflict, "group_has_members"},
      {KEEL_ERR_OUT_OF_ORDER, S::conflict, "out_of_order_sequence"},
      {KEEL_ERR_UNKNOWN_PRODUCER, S::conflict, "unknown_producer"},
      {KEEL_ERR_TOO_LARGE, S::payload_too_large, "too_large"},
      {KEEL_ERR_UNAVAILABLE, S::service_unavailable, "unavailable"},
      {KEEL_ERR_NOT_LEADER, S::service_unavailable, "not_leader"},
      {KEEL_ERR_NO_SPACE, S::insufficient_storage, "no_space"},
      {KEEL_ERR_UNSUPPORTED, S::not_implemented, "unsupported"},
      {KEEL_ERR_IO, S::internal_server_error, "io_error"},
      {KEEL_ERR_CORRUPT, S::internal_server_error, "corrupt"},
      {KEEL_ERR_INTERNAL, S::internal_server_error, "internal"},
      {9999, S::internal_server_error, "internal"},  // a status from a newer broker
  };
  for (const auto& row : table) {
    SCOPED_TRACE(row.code);
    const HttpError e = from_status(row.status, "the broker's message");
    EXPECT_EQ(e.status(), row.http);
    EXPECT_EQ(e.code(), row.code);
    EXPECT_STREQ(e.what(), "the broker's message");
  }
}

TEST(HttpErrors, ClientMistakesAreNeverServerErrors) {
  for (const keel_status s :
       {KEEL_ERR_INVALID_ARGUMENT, KEEL_ERR_INVALID_NAME, KEEL_ERR_NOT_FOUND, KEEL_ERR_ALREADY_EXISTS,
        KEEL_ERR_OUT_OF_RANGE, KEEL_ERR_TOO_LARGE, KEEL_ERR_FENCED, KEEL_ERR_OUT_OF_ORDER,
        KEEL_ERR_UNKNOWN_PRODUCER, KEEL_ERR_UNKNOWN_MEMBER}) {
    const auto status = static_cast<unsigned>(from_status(s, "").status());
    EXPECT_GE(status, 400u) << s;
    EXPECT_LT(status, 500u) << s;
  }
}

TEST(HttpErrors, EveryAnswerHasTheSameShape) {
  const Response r = error_response(S::conflict, "topic_exists", "topic 'a' exists");
  EXPECT_EQ(r.status, S::conflict);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(nlohmann::json::parse(r.body),
            nlohmann::json::parse(R"({"error": {"code": "topic_exists", "message": "topic 'a' exists"}})"));
  // A message with bytes that are not UTF-8 still gives valid JSON.
  const Response bad = error_response(S::bad_request, "bad_request", "name '\xff'");
  EXPECT_NO_THROW(nlohmann::json::parse(bad.body));
}

TEST(HttpErrors, ExceptionsAreAnsweredByTheirCause) {
  const Response http = answer_for([] { throw bad_request("query parameter 'x' is wrong"); });
  EXPECT_EQ(http.status, S::bad_request);
  EXPECT_EQ(nlohmann::json::parse(http.body)["error"]["message"], "query parameter 'x' is wrong");

  const Response sdk = answer_for([] { throw sdk::Error(KEEL_ERR_NO_SPACE, "disk full on orders-3"); });
  EXPECT_EQ(sdk.status, S::insufficient_storage);
  EXPECT_EQ(nlohmann::json::parse(sdk.body)["error"]["code"], "no_space");
  EXPECT_EQ(nlohmann::json::parse(sdk.body)["error"]["message"], "disk full on orders-3");

  // A value of the wrong type that a handler did not check: the client's.
  const Response json = answer_for([] { nlohmann::json::parse(R"({"n": "x"})")["n"].get<int>(); });
  EXPECT_EQ(json.status, S::bad_request);

  const Response other = answer_for([] { throw std::logic_error("bug"); });
  EXPECT_EQ(other.status, S::internal_server_error);
  const Response unknown = answer_for([] { throw 42; });
  EXPECT_EQ(unknown.status, S::internal_server_error);
  EXPECT_EQ(nlohmann::json::parse(unknown.body)["error"]["code"], "internal");
}

// A produce or consume on a partition another broker leads: 421 naming the
// leader, and the same request on the leader's HTTP listener.
TEST(HttpErrors, MisdirectedRequestsNameTheLeaderAndRedirect) {
  Response r;
  try {
    throw HttpError(S::misdirected_request, "not_leader", "broker 0 does not lead orders-2; broker 3 does")
        .with("leader", 3)
        .with("leader_url", "http://10.0.0.3:8080")
        .redirect_to("http://10.0.0.3:8080");
  } catch (...) {
    r = response_for_current_exception("/topics/orders/partitions/2/records?offset=5");
  }
  EXPECT_EQ(static_cast<unsigned>(r.status), 421u);
  const auto error = nlohmann::json::parse(r.body)["error"];
  EXPECT_EQ(error["code"], "not_leader");
  EXPECT_EQ(error["leader"], 3);
  EXPECT_EQ(error["leader_url"], "http://10.0.0.3:8080");
  EXPECT_EQ(error["location"], "http://10.0.0.3:8080/topics/orders/partitions/2/records?offset=5");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Location");
  EXPECT_EQ(r.headers[0].second, error["location"]);

  // A leader without an HTTP listener: named, but nowhere to redirect.
  const Response bare = answer_for([] {
    throw HttpError(S::misdirected_request, "not_leader", "broker 3 serves no HTTP").with("leader", 3);
  });
  EXPECT_FALSE(nlohmann::json::parse(bare.body)["error"].contains("location"));
  EXPECT_TRUE(bare.headers.empty());
}

}  // namespace
}  // namespace keel::web
