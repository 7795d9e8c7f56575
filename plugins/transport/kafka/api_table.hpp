// The Kafka APIs Keel serves, each with its version range, the first
// flexible version, and its handler: declared once here, and ApiVersions
// answers from this same list.
#pragma once

#include <cstdint>
#include <vector>

#include "request.hpp"

namespace keel::kafka {

struct ApiSpec {
  int16_t key;
  const char* name;
  int16_t min_version;
  int16_t max_version;
  int16_t flexible_from;  // first version using flexible encoding (KIP-482)
  Handler handler;
};

const std::vector<ApiSpec>& api_table();
// nullptr when Keel does not serve the API.
const ApiSpec* find_api(int16_t key);

constexpr int16_t kProduceKey = 0;
constexpr int16_t kApiVersionsKey = 18;
constexpr int16_t kSaslHandshakeKey = 17;
constexpr int16_t kSaslAuthenticateKey = 36;

}  // namespace keel::kafka
