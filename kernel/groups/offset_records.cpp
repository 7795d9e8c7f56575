#include "groups/offset_records.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace keel::offsets {

using nlohmann::json;

std::string offset_key(const std::string& group, const std::string& topic, int32_t partition) {
  return json::array({"offset", group, topic, partition}).dump();
}

std::string group_key(const std::string& group) { return json::array({"group", group}).dump(); }

std::string offset_value(const OffsetValue& v) {
  return json{{"offset", v.offset}, {"metadata", v.metadata}, {"commit_timestamp", v.commit_time_ms}}.dump();
}

std::string group_value(const std::string& metadata, int64_t now_ms) {
  return json{{"metadata", metadata}, {"timestamp", now_ms}}.dump();
}

Entry decode(const std::string& key, const std::optional<std::string>& value) {
  Entry e;
  try {
    const json k = json::parse(key);
    if (!k.is_array() || k.empty() || !k[0].is_string()) throw std::runtime_error("key is not [kind, ...]");
    const std::string kind = k[0].get<std::string>();
    if (kind == "offset") {
      if (k.size() != 4) throw std::runtime_error("offset key needs 4 elements");
      e.kind = Entry::Kind::Offset;
      e.group = k[1].get<std::string>();
      e.topic = k[2].get<std::string>();
      e.partition = k[3].get<int32_t>();
      if (value) {
        const json v = json::parse(*value);
        OffsetValue o;
        o.offset = v.at("offset").get<int64_t>();
        o.metadata = v.value("metadata", "");
        o.commit_time_ms = v.value("commit_timestamp", int64_t{0});
        e.offset = std::move(o);
      }
    } else if (kind == "group") {
      if (k.size() != 2) throw std::runtime_error("group key needs 2 elements");
      e.kind = Entry::Kind::Group;
      e.group = k[1].get<std::string>();
      if (value) e.group_metadata = json::parse(*value).at("metadata").get<std::string>();
    }
  } catch (const std::exception& ex) {
    fail(KEEL_ERR_CORRUPT,
         std::string("record with key ") + key + " is not a consumer-offsets record: " + ex.what());
  }
  return e;
}

}  // namespace keel::offsets
