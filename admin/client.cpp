#include "client.hpp"

#include <cstdio>
#include <cstring>

namespace keel::admin {

std::string error_text(rd_kafka_resp_err_t err, const char* message) {
  std::string text = rd_kafka_err2name(err);
  text += ": ";
  text += message != nullptr && *message != '\0' ? message : rd_kafka_err2str(err);
  return text;
}

void report_error(const std::string& path, const std::string& what, const std::string& error) {
  std::fprintf(stderr, "keel-admin %s: %s: %s\n", path.c_str(), what.c_str(), error.c_str());
}

Json error_json(rd_kafka_resp_err_t err, const char* message) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return nullptr;
  return Json{{"code", rd_kafka_err2name(err)},
              {"message", message != nullptr && *message != '\0' ? message : rd_kafka_err2str(err)}};
}

Client::Client(const Common& common, Kind kind,
               const std::vector<std::pair<std::string, std::string>>& defaults,
               const std::function<void(rd_kafka_conf_t*)>& configure)
    : brokers_(common.brokers), timeout_ms_(common.timeout_ms) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& key, const std::string& value, bool user) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      if (user) throw UsageError("-X " + key + "=" + value + ": " + err, "see librdkafka's CONFIGURATION.md");
      throw Failure("librdkafka refused " + key + "=" + value + ": " + err);
    }
  };
  set("bootstrap.servers", common.brokers, false);
  set("client.id", "keel-admin", false);
  // Metadata for a topic must not create it (describe, consume of a typo).
  set("allow.auto.create.topics", "false", false);
  // Java's partitioner, so keys land where Java clients put them.
  if (kind == Kind::producer) set("partitioner", "murmur2_random", false);
  for (const auto& [k, v] : defaults) set(k, v, false);
  for (const auto& [k, v] : common.props) {
    set(k, v, true);
    if (k == "debug") debug_ = true;
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_log_cb(conf, &Client::on_log);
  rd_kafka_conf_set_error_cb(conf, &Client::on_error);
  if (configure) configure(conf);
  rk_ = rd_kafka_new(kind == Kind::producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk_ == nullptr) {
    // rd_kafka_new keeps conf only on success.
    rd_kafka_conf_destroy(conf);
    throw UsageError(std::string("cannot create the Kafka client: ") + err,
                     "check the -X properties (e.g. a missing ssl.ca.location file)");
  }
}

Client::~Client() {
  if (rk_ != nullptr) rd_kafka_destroy(rk_);
}

void Client::on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  auto* self = static_cast<Client*>(rd_kafka_opaque(rk));
  if (self == nullptr) return;
  if (self->debug_) std::fprintf(stderr, "librdkafka %d %s: %s\n", level, fac, buf);
  if (level <= 4) {
    std::lock_guard lock(self->mu_);
    self->last_error_ = buf;
  }
}

void Client::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  (void)rk;
  auto* self = static_cast<Client*>(opaque);
  if (self->debug_)
    std::fprintf(stderr, "librdkafka error %s: %s\n",
                 rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
  // "all brokers down" says less than the connection error before it.
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) return;
  std::lock_guard lock(self->mu_);
  self->last_error_ = reason;
}

std::string Client::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

std::string Client::unreachable(const std::string& detail) const {
  std::string last = last_error();
  // Reached, but the login or the TLS handshake failed: say so rather than
  // "could not reach".
  std::string head =
      "could not reach the broker(s) at " + brokers_ + " within " + std::to_string(timeout_ms_) + " ms";
  if (last.find("SASL authentication error") != std::string::npos) {
    head = "the broker(s) at " + brokers_ + " refused the login";
  } else if (last.find("SSL handshake failed") != std::string::npos) {
    head = "the TLS handshake with the broker(s) at " + brokers_ + " failed";
  }
  std::string text = head + " (" + detail + ")";
  if (!last.empty()) text += "; last error: " + last;
  return text + "; check -b/--brokers (or $KEEL_BROKERS), --timeout and the -X security settings";
}

Metadata Client::metadata(const char* topic) {
  rd_kafka_topic_t* rkt = topic != nullptr ? rd_kafka_topic_new(rk_, topic, nullptr) : nullptr;
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, topic == nullptr ? 1 : 0, rkt, &md, timeout_ms_);
  if (rkt != nullptr) rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT ||
        err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
      throw Failure(unreachable(error_text(err)));
    }
    throw Failure("metadata request failed: " + error_text(err));
  }
  return Metadata(md);
}

void Client::connect() {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 0, nullptr, &md, timeout_ms_);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw Failure(unreachable(error_text(err)));
  rd_kafka_metadata_destroy(md);
}

AdminOptions Client::admin_options(rd_kafka_admin_op_t op) const {
  AdminOptions o(rd_kafka_AdminOptions_new(rk_, op));
  char err[256];
  rd_kafka_AdminOptions_set_request_timeout(o.get(), timeout_ms_, err, sizeof err);
  // Only CreateTopics, DeleteTopics and CreatePartitions take an operation
  // timeout (how long the broker waits for the change to spread).
  if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
      op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS) {
    rd_kafka_AdminOptions_set_operation_timeout(o.get(), timeout_ms_, err, sizeof err);
  }
  return o;
}

Event Client::wait(rd_kafka_queue_t* q, rd_kafka_event_type_t type, const std::string& what) {
  // The request timeout bounds the answer; the margin covers queueing.
  for (;;) {
    Event ev(rd_kafka_queue_poll(q, timeout_ms_ + 5000));
    if (!ev) throw Failure(unreachable("no answer to " + what));
    if (rd_kafka_event_type(ev.get()) != type) continue;
    rd_kafka_resp_err_t err = rd_kafka_event_error(ev.get());
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT) {
      throw Failure(unreachable(what + ": " + error_text(err, rd_kafka_event_error_string(ev.get()))));
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw Failure(what + " failed: " + error_text(err, rd_kafka_event_error_string(ev.get())));
    }
    return ev;
  }
}

std::pair<int64_t, int64_t> Client::watermarks(const std::string& topic, int32_t partition) {
  int64_t lo = -1, hi = -1;
  rd_kafka_resp_err_t err =
      rd_kafka_query_watermark_offsets(rk_, topic.c_str(), partition, &lo, &hi, timeout_ms_);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw Failure("watermarks of " + topic + "/" + std::to_string(partition) + ": " + error_text(err));
  }
  return {lo, hi};
}

}  // namespace keel::admin
