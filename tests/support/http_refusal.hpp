// Checking that the HTTP transport refuses client input as a client mistake.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "transport/http/errors.hpp"

namespace keel::test {

// The message of the HttpError 400 `fn` throws; a test failure when it
// throws nothing or answers with another status.
template <class Fn>
std::string refusal(Fn&& fn) {
  try {
    fn();
  } catch (const web::HttpError& e) {
    EXPECT_EQ(e.status(), boost::beast::http::status::bad_request) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no HttpError thrown";
  return "";
}

// A JSON body and (part of) the message of the 400 it must get.
struct RefusedJson {
  const char* body;
  const char* message;
};

// Runs `consume` on each parsed body and checks its refusal.
template <class Fn>
void expect_refused(std::initializer_list<RefusedJson> cases, Fn&& consume) {
  for (const RefusedJson& c : cases) {
    SCOPED_TRACE(c.body);
    const nlohmann::json body = nlohmann::json::parse(c.body);
    EXPECT_THAT(refusal([&] { consume(body); }), ::testing::HasSubstr(c.message));
  }
}

}  // namespace keel::test
