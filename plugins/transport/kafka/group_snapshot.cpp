#include "group_snapshot.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/base64.hpp"

namespace keel::kafka {

namespace {

using nlohmann::json;

const char* stored_state(GroupState s) {
  switch (s) {
    case GroupState::kStable:
      return "Stable";
    case GroupState::kCompletingRebalance:
    case GroupState::kPreparingRebalance:  // never stored; read back as a rebalance to finish
      return "CompletingRebalance";
    case GroupState::kEmpty:
      break;
  }
  return "Empty";
}

GroupState state_from(const std::string& name) {
  if (name == "Stable") return GroupState::kStable;
  if (name == "CompletingRebalance") return GroupState::kCompletingRebalance;
  if (name == "Empty") return GroupState::kEmpty;
  throw std::runtime_error("unknown state '" + name + "'");
}

std::string bytes_of(const json& member, const char* field) {
  std::string why;
  auto bytes = transport::base64_decode(member.at(field).get<std::string>(), &why);
  if (!bytes) throw std::runtime_error(std::string(field) + " is not base64: " + why);
  return *bytes;
}

}  // namespace

// Strings from clients (ids, hosts, protocol names) that are not UTF-8 are
// stored with U+FFFD in place of the bad bytes, as Kafka's own string
// decoding does, rather than failing the write; bytes go as base64.
std::string format_snapshot(const GroupSnapshot& s) {
  json members = json::array();
  for (const auto& m : s.members) {
    members.push_back({{"member_id", m.id},
                       {"client_id", m.client_id},
                       {"client_host", m.client_host},
                       {"session_timeout_ms", m.session_timeout.count()},
                       {"rebalance_timeout_ms", m.rebalance_timeout.count()},
                       {"subscription", transport::base64_encode(m.subscription)},
                       {"assignment", transport::base64_encode(m.assignment)}});
  }
  const json j{{"version", kGroupSnapshotVersion}, {"state", stored_state(s.state)},
               {"generation", s.generation},       {"protocol_type", s.protocol_type},
               {"protocol", s.protocol},           {"leader", s.leader},
               {"members", std::move(members)}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

GroupSnapshot parse_snapshot(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("not JSON: ") + e.what());
  }
  if (!j.is_object()) throw std::runtime_error("not a JSON object");
  GroupSnapshot s;
  try {
    const int version = j.value("version", 0);
    if (version > kGroupSnapshotVersion) {
      throw std::runtime_error("version " + std::to_string(version) + " is newer than this Keel reads (" +
                               std::to_string(kGroupSnapshotVersion) + ")");
    }
    s.generation = j.at("generation").get<int32_t>();
    s.protocol_type = j.value("protocol_type", "");
    if (version == 0) return s;  // generation and protocol type only: an empty group
    s.state = state_from(j.at("state").get<std::string>());
    s.protocol = j.at("protocol").get<std::string>();
    s.leader = j.at("leader").get<std::string>();
    for (const auto& m : j.at("members")) {
      GroupSnapshot::Member& out = s.members.emplace_back();
      out.id = m.at("member_id").get<std::string>();
      out.client_id = m.at("client_id").get<std::string>();
      out.client_host = m.at("client_host").get<std::string>();
      out.session_timeout = std::chrono::milliseconds(m.at("session_timeout_ms").get<int64_t>());
      out.rebalance_timeout = std::chrono::milliseconds(m.at("rebalance_timeout_ms").get<int64_t>());
      out.subscription = bytes_of(m, "subscription");
      out.assignment = bytes_of(m, "assignment");
      if (out.id.empty()) throw std::runtime_error("a member has an empty member_id");
    }
  } catch (const json::exception& e) {
    throw std::runtime_error(e.what());
  }
  if (s.state == GroupState::kEmpty && !s.members.empty()) {
    throw std::runtime_error("state Empty with " + std::to_string(s.members.size()) + " member(s)");
  }
  if (s.state != GroupState::kEmpty) {
    if (s.members.empty()) throw std::runtime_error(std::string(stored_state(s.state)) + " without members");
    bool leader_known = false;
    for (const auto& m : s.members) leader_known = leader_known || m.id == s.leader;
    if (!leader_known) throw std::runtime_error("leader '" + s.leader + "' is not one of the members");
  }
  return s;
}

}  // namespace keel::kafka
