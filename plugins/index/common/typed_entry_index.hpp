// EntryIndex for one entry type, which holds the plugin's whole file layout:
//
//   struct Entry {
//     int64_t position;  // plus the plugin's other fields
//     static constexpr size_t kSize;  // bytes in the file
//     static Entry decode(const uint8_t* p);
//     void encode(uint8_t* p) const;
//     // What the first entry of a file is checked against.
//     static constexpr Entry before_first();
//     // Whether this entry may come right after `prev` in a file.
//     bool follows(const Entry& prev) const;
//     // The fields, for messages: "(relative offset 5, position 50)".
//     std::string describe() const;
//   };
#pragma once

#include <cstddef>
#include <cstdint>
#include <keel/plugin.hpp>
#include <string>

#include "common/entry_index.hpp"
#include "common/entry_layout.hpp"

namespace keel::index {

template <class Entry>
class TypedEntryIndex : public EntryIndex {
 protected:
  TypedEntryIndex(const sdk::Host& host, const keel_index_open_args& args, const char* name,
                  const char* suffix)
      : EntryIndex(host, args, EntryLayout{name, suffix, Entry::kSize, &position_in, &out_of_order}) {}

  Entry read(size_t i) const { return Entry::decode(file_.slot(i)); }
  // Adds `e` after the last entry, growing the file when it is full.
  void push_back(const Entry& e) {
    grow_for(count_ + 1);
    e.encode(file_.slot(count_));
    ++count_;
  }

 private:
  static int64_t position_in(const uint8_t* p) { return Entry::decode(p).position; }
  static std::string out_of_order(const uint8_t* prev, const uint8_t* p) {
    const Entry e = Entry::decode(p);
    if (e.follows(prev == nullptr ? Entry::before_first() : Entry::decode(prev))) return {};
    return e.describe() + " does not follow the entry before it";
  }
};

}  // namespace keel::index
