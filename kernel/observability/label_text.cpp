#include "observability/label_text.hpp"

namespace keel {

std::string label_text(const keel_label* labels, size_t count) {
  std::string out;
  if (labels == nullptr) return out;
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out += ',';
    out += labels[i].name != nullptr ? labels[i].name : "";
    out += "=\"";
    for (const char* v = labels[i].value != nullptr ? labels[i].value : ""; *v != '\0'; ++v) {
      switch (*v) {
        case '\\':
          out += "\\\\";
          break;
        case '"':
          out += "\\\"";
          break;
        case '\n':
          out += "\\n";
          break;
        default:
          out += *v;
      }
    }
    out += '"';
  }
  return out;
}

}  // namespace keel
