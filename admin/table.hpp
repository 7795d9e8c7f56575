// Output: aligned tables with a header row for people, one JSON document
// (stable field names) for scripts.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "options.hpp"

namespace keel::admin {

// Fields in the order written: documents read like the tables.
using Json = nlohmann::ordered_json;

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  // Columns padded to their widest cell, two spaces apart; the last column
  // is not padded (no trailing blanks).
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// A section title between tables ("PARTITIONS").
void print_section(std::ostream& out, const std::string& title, bool first = false);

// The document, indented, and a newline. Bytes that are not UTF-8 (keys
// and values of records) are replaced rather than failing the output.
void print_json(std::ostream& out, const Json& doc);
// The document for --format json, else the table.
void print_output(std::ostream& out, Format format, const Table& table, const Json& doc);

// One line (consume --format json: one object per record).
std::string json_line(const Json& doc);

// "0,1,2"; "" for none.
std::string join_ints(const std::vector<int32_t>& v);

}  // namespace keel::admin

namespace keel::admin {

// "KEY  value" lines, the values aligned (a summary above tables).
void print_pairs(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& pairs);

}  // namespace keel::admin
