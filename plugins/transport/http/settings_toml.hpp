// Topic settings given as JSON (POST /topics) turned into the TOML text of a
// [topics.<name>] table, which the broker parses, checks and keeps.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace keel::web {

// Strings, integers, floats, booleans and arrays of those become TOML
// values; objects become (inline) tables. Anything else (null, an array of
// arrays or objects, mixed arrays) is an HttpError 400 naming the key.
std::string settings_to_toml(const nlohmann::json& settings);

}  // namespace keel::web
