#include "coordinator/etcd/etcd_watch.hpp"

#include <boost/beast/http/error.hpp>
#include <keel/thread_name.hpp>
#include <utility>

#include "coordinator/etcd/etcd_json.hpp"

namespace keel::etcd {

using nlohmann::json;

WatchOptions WatchOptions::prefix(const std::string& prefix, int64_t start_revision) {
  return WatchOptions{prefix, prefix_range_end(prefix), start_revision, false};
}

Watch::Watch(const EtcdClient& client, WatchOptions options, Callback callback)
    : endpoints_(client.endpoints()),
      first_endpoint_(client.preferred_endpoint()),
      connect_timeout_(client.default_timeout()),
      options_(std::move(options)),
      callback_(std::move(callback)),
      thread_([this] {
        keel::name_this_thread("etcd-watch");
        run();
      }) {}

Watch::~Watch() { stop(); }

void Watch::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (conn_) conn_->interrupt();
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Watch::deliver_error(const std::string& endpoint, const std::string& detail) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;  // asked for: not an error
  }
  WatchUpdate u;
  u.kind = WatchUpdate::Kind::Error;
  u.message = EtcdError(EtcdError::Kind::Dropped, endpoint, "watch", options_.key, detail).what();
  callback_(u);
}

void Watch::run() {
  json create{{"key", gateway::encode_bytes(options_.key)}};
  if (!options_.range_end.empty()) create["range_end"] = gateway::encode_bytes(options_.range_end);
  if (options_.start_revision > 0) create["start_revision"] = gateway::encode_int(options_.start_revision);
  if (options_.prev_kv) create["prev_kv"] = true;
  const std::string body = json{{"create_request", create}}.dump();

  std::string refusals;  // "endpoint: error; ..." for every endpoint tried
  std::string last_error;
  std::string tried;
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    const Endpoint& endpoint = endpoints_[(first_endpoint_ + i) % endpoints_.size()];
    const std::string name = endpoint_name(endpoint);
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      conn_ = std::make_unique<HttpConnection>(endpoint);
    }
    const auto deadline = Clock::now() + connect_timeout_;
    auto ec = conn_->connect(deadline);
    if (ec) {
      tried += (tried.empty() ? "" : ", ") + name;
      last_error = describe_error(ec, connect_timeout_);
      refusals += (refusals.empty() ? "" : "; ") + name + ": " + last_error;
      continue;
    }
    unsigned status = 0;
    ec = conn_->send_post("/v3/watch", body, deadline);
    if (!ec) ec = conn_->read_header(status, deadline);
    if (ec) return deliver_error(name, describe_error(ec, connect_timeout_));
    if (status != 200) return deliver_error(name, "etcd answered HTTP " + std::to_string(status));
    return read_stream(name);
  }
  deliver_error(tried, endpoints_.size() == 1 ? last_error : "no endpoint answered (" + refusals + ")");
}

void Watch::read_stream(const std::string& endpoint) {
  std::string pending;
  for (;;) {
    const auto ec = conn_->read_body_some(pending);
    // grpc-gateway ends every message with a newline.
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (nl > start && !handle_line(endpoint, pending.substr(start, nl - start))) return;
    }
    pending.erase(0, start);
    if (ec == boost::beast::http::error::end_of_stream) {
      return deliver_error(endpoint, "etcd ended the watch stream");
    }
    if (ec) return deliver_error(endpoint, "watch connection lost: " + describe_error(ec, connect_timeout_));
  }
}

bool Watch::handle_line(const std::string& endpoint, const std::string& line) {
  const json j = json::parse(line, nullptr, false);
  if (!j.is_object()) {
    deliver_error(endpoint, "unreadable watch message: " + line.substr(0, 200));
    return false;
  }
  if (const auto err = j.find("error"); err != j.end()) {
    deliver_error(endpoint, err->is_object() ? err->value("message", err->dump()) : err->dump());
    return false;
  }
  const auto result = j.find("result");
  if (result == j.end() || !result->is_object()) return true;  // nothing we know: keep reading
  WatchUpdate u;
  try {
    u.revision = gateway::header_revision(*result);
    // etcd cancels a watch whose start is compacted and says where the
    // history now begins; that is a resync, not a plain cancel.
    u.compact_revision = gateway::int_field(*result, "compact_revision");
    if (u.compact_revision != 0) {
      u.kind = WatchUpdate::Kind::Resync;
      callback_(u);
      return false;
    }
    if (gateway::bool_field(*result, "canceled")) {
      u.kind = WatchUpdate::Kind::Cancelled;
      u.message = result->value("cancel_reason", std::string("cancelled by etcd"));
      callback_(u);
      return false;
    }
    if (gateway::bool_field(*result, "created")) {
      u.kind = WatchUpdate::Kind::Created;
      callback_(u);
      return true;
    }
    const auto events = result->find("events");
    if (events == result->end() || !events->is_array() || events->empty()) return true;  // progress notice
    u.kind = WatchUpdate::Kind::Events;
    for (const auto& e : *events) u.events.push_back(gateway::watch_event(e));
  } catch (const std::exception& e) {
    deliver_error(endpoint, std::string("unreadable watch message: ") + e.what());
    return false;
  }
  last_revision_.store(u.events.back().kv.mod_revision);
  callback_(u);
  return true;
}

}  // namespace keel::etcd
