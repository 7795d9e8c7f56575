// "Did you mean ...?" for a mistyped name: the closest of the names that
// exist, when it is near enough to be a plausible typo.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keel {

// Levenshtein distance: insertions, deletions and substitutions, each 1.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word`, if at most max(2, |word|/3) edits away
// (ties: the first in `candidates`). nullopt when none is that near.
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates);

// "a, b, c".
std::string join(const std::vector<std::string>& items, const char* sep = ", ");

// "; did you mean 'x'?" when a candidate is near, else "; <what>: a, b, c".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates, const char* what);

}  // namespace keel
