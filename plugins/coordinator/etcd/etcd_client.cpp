#include "coordinator/etcd/etcd_client.hpp"

#include <boost/beast/core/error.hpp>
#include <stdexcept>

namespace keel::etcd {

using nlohmann::json;

std::string endpoint_name(const Endpoint& e) {
  return e.host.find(':') == std::string::npos ? e.host + ":" + e.port : "[" + e.host + "]:" + e.port;
}

EtcdClient::EtcdClient(const std::vector<std::string>& endpoints, std::chrono::milliseconds default_timeout)
    : default_timeout_(default_timeout) {
  if (endpoints.empty()) throw std::invalid_argument("etcd client: no endpoint given (expected host:port)");
  for (const auto& text : endpoints) {
    auto e = parse_endpoint(text);
    if (!e) throw std::invalid_argument("etcd client: endpoint \"" + text + "\" is not host:port");
    endpoints_.push_back(std::move(*e));
  }
}

namespace {

std::string lease_key(int64_t id) { return "lease " + std::to_string(id); }

// etcd's gateway answers an error as {"error": "...", "message": "...", "code": n}.
std::string rejection(unsigned status, const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  std::string message;
  if (j.is_object()) {
    if (const auto it = j.find("message"); it != j.end() && it->is_string()) message = *it;
    if (const auto it = j.find("error"); message.empty() && it != j.end() && it->is_string()) message = *it;
  }
  if (message.empty()) message = body.substr(0, 200);
  return message + " (HTTP " + std::to_string(status) + ")";
}

}  // namespace

EtcdClient::Answer EtcdClient::call(const char* operation, const std::string& key, const char* target,
                                    const json& body, Timeout timeout) const {
  const auto limit = timeout.value_or(default_timeout_);
  const auto deadline = Clock::now() + limit;
  const std::string payload = body.dump();
  const size_t n = endpoints_.size();
  const size_t first = preferred_.load();
  std::string tried;
  std::string refusals;  // "endpoint: error; ..." for every endpoint tried
  std::string last_error;
  bool timed_out = false;
  for (size_t i = 0; i < n; ++i) {
    const size_t index = (first + i) % n;
    const std::string name = endpoint_name(endpoints_[index]);
    HttpConnection conn(endpoints_[index]);
    auto ec = conn.connect(deadline);
    if (ec) {
      tried += (tried.empty() ? "" : ", ") + name;
      last_error = describe_error(ec, limit);
      refusals += (refusals.empty() ? "" : "; ") + name + ": " + last_error;
      if (ec == boost::beast::error::timeout) {
        timed_out = true;
        break;  // the deadline is spent; no time left for another endpoint
      }
      continue;
    }
    preferred_.store(index);
    unsigned status = 0;
    std::string answer;
    ec = conn.send_post(target, payload, deadline);
    if (!ec) ec = conn.read_response(status, answer, deadline);
    if (ec) {
      // The request may have reached etcd: not retried; the next call starts elsewhere.
      preferred_.store((index + 1) % n);
      const auto kind =
          ec == boost::beast::error::timeout ? EtcdError::Kind::Timeout : EtcdError::Kind::Dropped;
      throw EtcdError(kind, name, operation, key, describe_error(ec, limit));
    }
    if (status != 200)
      throw EtcdError(EtcdError::Kind::Rejected, name, operation, key, rejection(status, answer));
    json j = json::parse(answer, nullptr, false);
    if (!j.is_object()) {
      throw EtcdError(EtcdError::Kind::Protocol, name, operation, key,
                      "answer is not a JSON object: " + answer.substr(0, 200));
    }
    return Answer{std::move(j), name};
  }
  const std::string detail = n == 1 ? last_error : "no endpoint answered (" + refusals + ")";
  throw EtcdError(timed_out ? EtcdError::Kind::Timeout : EtcdError::Kind::Unreachable, tried, operation, key,
                  detail);
}

namespace {

// A reader's complaint about etcd's answer, as the client's error.
template <class F>
auto decoded(const std::string& endpoint, const char* operation, const std::string& key, F&& read) {
  try {
    return read();
  } catch (const EtcdError&) {
    throw;
  } catch (const std::exception& e) {  // std::invalid_argument, nlohmann::json::exception
    throw EtcdError(EtcdError::Kind::Protocol, endpoint, operation, key,
                    std::string("unreadable answer: ") + e.what());
  }
}

}  // namespace

RangeResult EtcdClient::range(const std::string& key, Timeout timeout) const {
  const Answer a = call("range", key, "/v3/kv/range", gateway::range_request(key, {}), timeout);
  return decoded(a.endpoint, "range", key, [&] { return gateway::range_result(a.body); });
}

RangeResult EtcdClient::range_prefix(const std::string& prefix, Timeout timeout) const {
  const Answer a = call("range_prefix", prefix, "/v3/kv/range",
                        gateway::range_request(prefix, prefix_range_end(prefix)), timeout);
  return decoded(a.endpoint, "range_prefix", prefix, [&] { return gateway::range_result(a.body); });
}

PutResult EtcdClient::put(const std::string& key, const std::string& value, int64_t lease,
                          Timeout timeout) const {
  const Answer a = call("put", key, "/v3/kv/put", gateway::put_request(key, value, lease), timeout);
  return decoded(a.endpoint, "put", key, [&] { return PutResult{gateway::header_revision(a.body)}; });
}

DeleteResult EtcdClient::delete_key(const std::string& key, Timeout timeout) const {
  const Answer a = call("delete", key, "/v3/kv/deleterange", gateway::delete_request(key, {}), timeout);
  return decoded(a.endpoint, "delete", key, [&] {
    return DeleteResult{gateway::header_revision(a.body), gateway::int_field(a.body, "deleted")};
  });
}

DeleteResult EtcdClient::delete_prefix(const std::string& prefix, Timeout timeout) const {
  const Answer a = call("delete_prefix", prefix, "/v3/kv/deleterange",
                        gateway::delete_request(prefix, prefix_range_end(prefix)), timeout);
  return decoded(a.endpoint, "delete_prefix", prefix, [&] {
    return DeleteResult{gateway::header_revision(a.body), gateway::int_field(a.body, "deleted")};
  });
}

TxnResult EtcdClient::txn(const std::vector<Compare>& compares, const std::vector<Op>& success,
                          const std::vector<Op>& failure, Timeout timeout) const {
  // Named in messages by the first key it compares (or writes).
  const std::string key = !compares.empty()  ? compares.front().key
                          : !success.empty() ? success.front().key
                          : !failure.empty() ? failure.front().key
                                             : std::string();
  json body{{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
  for (const auto& c : compares) body["compare"].push_back(gateway::compare(c));
  for (const auto& op : success) body["success"].push_back(gateway::request_op(op));
  for (const auto& op : failure) body["failure"].push_back(gateway::request_op(op));
  const Answer a = call("txn", key, "/v3/kv/txn", body, timeout);
  return decoded(a.endpoint, "txn", key, [&] { return gateway::txn_result(a.body); });
}

LeaseGrant EtcdClient::lease_grant(int64_t ttl_seconds, Timeout timeout) const {
  const std::string what = "lease of " + std::to_string(ttl_seconds) + " s";
  const Answer a =
      call("lease_grant", what, "/v3/lease/grant", json{{"TTL", gateway::encode_int(ttl_seconds)}}, timeout);
  return decoded(a.endpoint, "lease_grant", what, [&] {
    if (const auto it = a.body.find("error");
        it != a.body.end() && it->is_string() && !it->get<std::string>().empty()) {
      throw EtcdError(EtcdError::Kind::Rejected, a.endpoint, "lease_grant", what, it->get<std::string>());
    }
    return LeaseGrant{gateway::int_field(a.body, "ID"), gateway::int_field(a.body, "TTL")};
  });
}

int64_t EtcdClient::lease_keepalive_once(int64_t id, Timeout timeout) const {
  // A streaming call behind the gateway: one request in, the answer as
  // {"result": {...}} (or {"error": {...}}), then the stream ends.
  const Answer a = call("lease_keepalive", lease_key(id), "/v3/lease/keepalive",
                        json{{"ID", gateway::encode_int(id)}}, timeout);
  return decoded(a.endpoint, "lease_keepalive", lease_key(id), [&]() -> int64_t {
    if (const auto err = a.body.find("error"); err != a.body.end()) {
      const std::string message = err->is_object() ? err->value("message", err->dump()) : err->dump();
      throw EtcdError(EtcdError::Kind::Rejected, a.endpoint, "lease_keepalive", lease_key(id), message);
    }
    const auto result = a.body.find("result");
    const int64_t ttl = result == a.body.end() ? 0 : gateway::int_field(*result, "TTL");
    return ttl > 0 ? ttl : 0;
  });
}

void EtcdClient::lease_revoke(int64_t id, Timeout timeout) const {
  call("lease_revoke", lease_key(id), "/v3/lease/revoke", json{{"ID", gateway::encode_int(id)}}, timeout);
}

void EtcdClient::compact(int64_t revision, Timeout timeout) const {
  call("compact", "revision " + std::to_string(revision), "/v3/kv/compaction",
       json{{"revision", gateway::encode_int(revision)}, {"physical", true}}, timeout);
}

}  // namespace keel::etcd
