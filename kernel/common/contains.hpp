#pragma once

#include <algorithm>
#include <iterator>

namespace keel {

// Whether a range holds a value (std::ranges::contains is C++23). Used for
// the short lists of broker ids a replica set or ISR is.
template <typename Range, typename T>
bool contains(const Range& range, const T& value) {
  return std::find(std::begin(range), std::end(range), value) != std::end(range);
}

}  // namespace keel
