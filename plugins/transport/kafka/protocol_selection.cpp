#include "protocol_selection.hpp"

#include <algorithm>
#include <map>

namespace keel::kafka {

std::optional<std::string> select_protocol(const std::vector<std::vector<std::string>>& preferences) {
  if (preferences.empty()) return std::nullopt;
  auto supported_by_all = [&](const std::string& name) {
    return std::all_of(preferences.begin(), preferences.end(), [&](const std::vector<std::string>& p) {
      return std::find(p.begin(), p.end(), name) != p.end();
    });
  };
  std::vector<std::string> candidates;  // in the first member's order, for ties
  for (const auto& name : preferences.front()) {
    if (supported_by_all(name)) candidates.push_back(name);
  }
  if (candidates.empty()) return std::nullopt;
  std::map<std::string, size_t> votes;
  for (const auto& p : preferences) {
    auto it = std::find_if(p.begin(), p.end(), [&](const std::string& name) {
      return std::find(candidates.begin(), candidates.end(), name) != candidates.end();
    });
    ++votes[*it];  // every member lists every candidate, so one is found
  }
  const std::string* best = &candidates.front();
  for (const auto& c : candidates) {
    if (votes[c] > votes[*best]) best = &c;
  }
  return *best;
}

}  // namespace keel::kafka
