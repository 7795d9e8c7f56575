// Turns the broker API's metric labels (keel_label name/value pairs) into
// the Prometheus label text the metrics registry keys samples by, e.g.
// `topic="orders",partition="0"`. Values are escaped as the exposition
// format requires (backslash, double quote, newline); names are copied as
// they are and checked by the registry, which ignores a sample with an
// invalid name (logging it once).
#pragma once

#include <keel/plugin.h>

#include <cstddef>
#include <string>

namespace keel {

std::string label_text(const keel_label* labels, size_t count);

}  // namespace keel
