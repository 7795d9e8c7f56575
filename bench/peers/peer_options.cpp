#include "peer_options.hpp"

#include <charconv>
#include <stdexcept>
#include <string_view>

namespace keel::peers {

const char* const kPeerUsage =
    "  --host HOST (127.0.0.1)  --port PORT (required)  --size BYTES (100)\n"
    "  --count N | --duration SECONDS  --window N (1000: unacknowledged requests at most)\n"
    "  --warmup N (acknowledgements left out; 10% of --count, 0 with --duration)  --timeout-ms MS (30000)\n";

namespace {

int64_t to_int(std::string_view name, const std::string& text, int64_t min) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min) {
    throw std::invalid_argument(std::string(name) + " must be an integer >= " + std::to_string(min) +
                                ", got '" + text + "'");
  }
  return v;
}

double to_double(std::string_view name, const std::string& text) {
  size_t used = 0;
  double v = -1;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !(v > 0)) {
    throw std::invalid_argument(std::string(name) + " must be a number > 0, got '" + text + "'");
  }
  return v;
}

}  // namespace

PeerOptions parse_peer_options(int argc, char** argv, const char* target_name) {
  PeerOptions o;
  const std::string target_flag = std::string("--") + target_name;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      throw std::invalid_argument(arg + " needs a value");
    }
    if (arg == "--host") {
      o.host = value;
    } else if (arg == "--port") {
      o.port = static_cast<int>(to_int(arg, value, 1));
    } else if (arg == target_flag) {
      o.target = value;
    } else if (arg == "--size") {
      o.size = to_int(arg, value, 0);
    } else if (arg == "--count") {
      o.count = to_int(arg, value, 1);
    } else if (arg == "--duration") {
      o.duration_s = to_double(arg, value);
    } else if (arg == "--window") {
      o.window = to_int(arg, value, 1);
    } else if (arg == "--warmup") {
      o.warmup = to_int(arg, value, 0);
    } else if (arg == "--timeout-ms") {
      o.timeout_ms = to_int(arg, value, 1);
    } else {
      throw std::invalid_argument("unknown option '" + arg + "'");
    }
  }
  if (o.port == 0) throw std::invalid_argument("--port is required");
  if ((o.count > 0) == (o.duration_s > 0))
    throw std::invalid_argument("give exactly one of --count, --duration");
  if (o.warmup < 0) o.warmup = o.count > 0 ? o.count / 10 : 0;
  if (o.count > 0 && o.warmup >= o.count) throw std::invalid_argument("--warmup must be below --count");
  return o;
}

}  // namespace keel::peers
