#include "options.hpp"

#include <charconv>
#include <stdexcept>
#include <string_view>

namespace keel::load {

const char* const kUsage =
    "usage: keel-load produce|consume [options]\n"
    "common:   --brokers HOST:PORT (127.0.0.1:9092)  --topic NAME (bench)  --count N\n"
    "          --timeout-ms MS (30000)  --set KEY=VALUE (any librdkafka property, repeatable)\n"
    "produce:  --size BYTES (100)  --duration SECONDS  --acks 0|1|all (1)  --linger-ms MS\n"
    "          --batch-size BYTES  --inflight N  --compression none|gzip|snappy|lz4|zstd\n"
    "          --idempotent (enable.idempotence; needs --acks all)\n"
    "          --rate MSGS_PER_S (0: closed loop)  --warmup N (10% of --count)\n"
    "          --partitions N (0: librdkafka's partitioner; N: round-robin over 0..N-1)\n"
    "consume:  --from beginning|end (beginning); without --count, reads to the end of every partition\n";

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
  if (used != text.size() || !(v >= 0)) {
    throw std::invalid_argument(std::string(name) + " must be a number >= 0, got '" + text + "'");
  }
  return v;
}

std::string one_of(std::string_view name, const std::string& text,
                   std::initializer_list<std::string_view> allowed) {
  std::string list;
  for (auto a : allowed) {
    if (text == a) return text;
    list += (list.empty() ? "" : "|") + std::string(a);
  }
  throw std::invalid_argument(std::string(name) + " must be " + list + ", got '" + text + "'");
}

}  // namespace

Options parse_options(int argc, char** argv) {
  if (argc < 2) throw std::invalid_argument("missing mode");
  Options o;
  o.mode = one_of("mode", argv[1], {"produce", "consume"});
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--idempotent") {  // the one option without a value
      o.idempotent = true;
      continue;
    }
    std::string value;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      throw std::invalid_argument(arg + " needs a value");
    }
    if (arg == "--brokers") {
      o.brokers = value;
    } else if (arg == "--topic") {
      o.topic = value;
    } else if (arg == "--partitions") {
      o.partitions = static_cast<int32_t>(to_int(arg, value, 0));
    } else if (arg == "--size") {
      o.size = to_int(arg, value, 0);
    } else if (arg == "--count") {
      o.count = to_int(arg, value, 1);
    } else if (arg == "--duration") {
      o.duration_s = to_double(arg, value);
    } else if (arg == "--acks") {
      o.acks = one_of(arg, value, {"0", "1", "all", "-1"});
    } else if (arg == "--linger-ms") {
      o.linger_ms = to_int(arg, value, 0);
    } else if (arg == "--batch-size") {
      o.batch_size = to_int(arg, value, 1);
    } else if (arg == "--inflight") {
      o.inflight = to_int(arg, value, 1);
    } else if (arg == "--compression") {
      o.compression = one_of(arg, value, {"none", "gzip", "snappy", "lz4", "zstd"});
    } else if (arg == "--rate") {
      o.rate = to_double(arg, value);
    } else if (arg == "--warmup") {
      o.warmup = to_int(arg, value, 0);
    } else if (arg == "--from") {
      o.from = one_of(arg, value, {"beginning", "end"});
    } else if (arg == "--timeout-ms") {
      o.timeout_ms = to_int(arg, value, 1);
    } else if (arg == "--set") {
      const auto eq = value.find('=');
      if (eq == std::string::npos || eq == 0)
        throw std::invalid_argument("--set needs KEY=VALUE, got '" + value + "'");
      o.client_config.emplace_back(value.substr(0, eq), value.substr(eq + 1));
    } else {
      throw std::invalid_argument("unknown option '" + arg + "'");
    }
  }
  if (o.mode == "produce") {
    if ((o.count > 0) == (o.duration_s > 0))
      throw std::invalid_argument("produce needs exactly one of --count, --duration");
    if (o.warmup < 0) o.warmup = o.count > 0 ? o.count / 10 : 0;
    if (o.count > 0 && o.warmup >= o.count) throw std::invalid_argument("--warmup must be below --count");
    // librdkafka refuses idempotence with acks other than all; say it here.
    if (o.idempotent && o.acks != "all" && o.acks != "-1")
      throw std::invalid_argument("--idempotent needs --acks all, got --acks " + o.acks);
  }
  return o;
}

}  // namespace keel::load
