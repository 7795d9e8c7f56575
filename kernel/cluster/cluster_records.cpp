#include "cluster/cluster_records.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace keel {
namespace {

using nlohmann::json;

[[noreturn]] void corrupt(const std::string& key, const std::string& why) {
  fail(KEEL_ERR_CORRUPT, "cluster state key '" + key + "' holds an invalid value (" + why +
                             "); it was not written by this version of Keel: inspect it with etcdctl get");
}

template <class F>
auto parse(const std::string& key, const std::string& value, F&& f) {
  try {
    return f(json::parse(value));
  } catch (const json::exception& e) {
    corrupt(key, e.what());
  }
}

std::vector<int32_t> ids(const json& j) {
  std::vector<int32_t> out;
  for (const auto& x : j) out.push_back(x.get<int32_t>());
  return out;
}

}  // namespace

std::string encode(const BrokerRecord& r) {
  json listeners = json::object();
  for (const auto& [name, hp] : r.listeners) listeners[name] = {{"host", hp.host}, {"port", hp.port}};
  return json{{"version", 1}, {"id", r.id}, {"rack", r.rack}, {"listeners", listeners}}.dump();
}

std::string encode(const ControllerRecord& r) {
  return json{{"version", 1}, {"broker_id", r.broker_id}}.dump();
}

std::string encode(const TopicRecord& r) {
  return json{
      {"version", 1}, {"assignment", r.assignment}, {"settings", r.settings_toml}, {"internal", r.internal}}
      .dump();
}

std::string encode(const PartitionRecord& r) {
  return json{{"version", 1},
              {"leader", r.leader},
              {"leader_epoch", r.leader_epoch},
              {"isr", r.isr},
              {"controller_epoch", r.controller_epoch}}
      .dump();
}

BrokerRecord decode_broker(const std::string& key, const std::string& value) {
  return parse(key, value, [](const json& j) {
    BrokerRecord r;
    r.id = j.at("id").get<int32_t>();
    r.rack = j.value("rack", "");
    for (const auto& [name, hp] : j.at("listeners").items()) {
      r.listeners[name] = HostPort{hp.at("host").get<std::string>(), hp.at("port").get<int32_t>()};
    }
    return r;
  });
}

ControllerRecord decode_controller(const std::string& key, const std::string& value) {
  return parse(key, value, [](const json& j) { return ControllerRecord{j.at("broker_id").get<int32_t>()}; });
}

TopicRecord decode_topic(const std::string& key, const std::string& value) {
  TopicRecord r = parse(key, value, [](const json& j) {
    TopicRecord t;
    for (const auto& p : j.at("assignment")) t.assignment.push_back(ids(p));
    t.settings_toml = j.value("settings", "");
    t.internal = j.value("internal", false);
    return t;
  });
  if (r.assignment.empty()) corrupt(key, "a topic without partitions");
  for (const auto& replicas : r.assignment) {
    if (replicas.empty()) corrupt(key, "a partition without replicas");
  }
  return r;
}

PartitionRecord decode_partition(const std::string& key, const std::string& value) {
  return parse(key, value, [](const json& j) {
    PartitionRecord r;
    r.leader = j.at("leader").get<int32_t>();
    r.leader_epoch = j.at("leader_epoch").get<int32_t>();
    r.isr = ids(j.at("isr"));
    r.controller_epoch = j.at("controller_epoch").get<int64_t>();
    return r;
  });
}

std::optional<std::pair<std::string, int32_t>> split_partition_key(const std::string& rest) {
  const size_t slash = rest.rfind('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= rest.size()) return std::nullopt;
  int32_t p = 0;
  for (size_t i = slash + 1; i < rest.size(); ++i) {
    if (rest[i] < '0' || rest[i] > '9' || p > 100000000) return std::nullopt;
    p = p * 10 + (rest[i] - '0');
  }
  return std::make_pair(rest.substr(0, slash), p);
}

}  // namespace keel
