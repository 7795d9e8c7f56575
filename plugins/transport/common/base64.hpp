// Base64 for the transports: the SDK's (keel/base64.hpp), under the names
// the transports have always used.
#pragma once

#include <keel/base64.hpp>

namespace keel::transport {

using keel::base64_decode;
using keel::base64_encode;

}  // namespace keel::transport
