// Fuzzes the broker's configuration parser: the TOML text of a config file,
// and --set overrides. Input: the file's text; each line after a line
// "#--set" is also given as one override ("dotted.key=value"). A bad config
// must end in keel::Error naming what is wrong (main() prints it and exits
// with status 2); anything else escaping would abort the broker at start.
#include "config/config.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  if (const size_t mark = input.find("#--set\n"); mark != std::string::npos) {
    std::string_view rest = std::string_view(input).substr(mark + 7);
    while (!rest.empty()) {
      const size_t nl = rest.find('\n');
      overrides.emplace_back(rest.substr(0, nl));
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
  }
  try {
    (void)keel::parse_config(input, "fuzz.toml", overrides);
  } catch (const keel::Error&) {
  }
  return 0;
}
