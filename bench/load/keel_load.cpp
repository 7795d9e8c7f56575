// keel-load: end-to-end load generator for a Kafka-compatible broker, on
// librdkafka's C API. Prints one human-readable line and one JSON line.
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string_view>

#include "consume.hpp"
#include "options.hpp"
#include "produce.hpp"

namespace {

bool asks_for_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h" || a == "help") return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (asks_for_help(argc, argv)) {
    fputs(keel::load::kUsage, stdout);
    return 0;
  }
  keel::load::Options options;
  try {
    options = keel::load::parse_options(argc, argv);
  } catch (const std::invalid_argument& e) {
    fprintf(stderr, "keel-load: %s\n%s", e.what(), keel::load::kUsage);
    return 2;
  }
  try {
    return options.mode == "produce" ? keel::load::run_produce(options) : keel::load::run_consume(options);
  } catch (const std::exception& e) {
    fprintf(stderr, "keel-load %s: %s\n", options.mode.c_str(), e.what());
    return 1;
  }
}
