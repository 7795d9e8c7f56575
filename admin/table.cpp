#include "table.hpp"

#include <algorithm>

namespace keel::admin {

void Table::print(std::ostream& out) const {
  std::vector<size_t> width(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) width[c] = headers_[c].size();
  for (const auto& row : rows_)
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t c = 0; c < cells.size(); ++c) {
      text += cells[c];
      if (c + 1 < cells.size()) text += std::string(width[c] - cells[c].size() + 2, ' ');
    }
    out << text << '\n';
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
}

void print_section(std::ostream& out, const std::string& title, bool first) {
  if (!first) out << '\n';
  out << title << '\n' << std::string(title.size(), '=') << '\n';
}

void print_json(std::ostream& out, const Json& doc) {
  out << doc.dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
}

void print_output(std::ostream& out, Format format, const Table& table, const Json& doc) {
  if (format == Format::json) {
    print_json(out, doc);
  } else {
    table.print(out);
  }
}

std::string json_line(const Json& doc) { return doc.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string join_ints(const std::vector<int32_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

}  // namespace keel::admin

namespace keel::admin {

void print_pairs(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& pairs) {
  size_t width = 0;
  for (const auto& [k, v] : pairs) width = std::max(width, k.size());
  for (const auto& [k, v] : pairs) out << k << std::string(width - k.size() + 2, ' ') << v << '\n';
}

}  // namespace keel::admin
