// One librdkafka handle configured from keel-admin's common flags: the
// bootstrap list, -X properties (passed through as kcat does) and the
// timeout; plus the waits and error texts every command shares.
#pragma once

#include <librdkafka/rdkafka.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "options.hpp"
#include "table.hpp"

namespace keel::admin {

struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
using Event = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};
using Metadata = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;

struct AdminOptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
using AdminOptions = std::unique_ptr<rd_kafka_AdminOptions_t, AdminOptionsDeleter>;

struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
using Queue = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;

// "NAME: text" for a librdkafka error code.
std::string error_text(rd_kafka_resp_err_t err, const char* message = nullptr);

class Client {
 public:
  enum class Kind { producer, consumer };
  // `defaults` are set before -X, so the user's properties win.
  // `configure` may add callbacks (delivery reports) before the handle is made.
  Client(const Common& common, Kind kind,
         const std::vector<std::pair<std::string, std::string>>& defaults = {},
         const std::function<void(rd_kafka_conf_t*)>& configure = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  rd_kafka_t* handle() const { return rk_; }
  int timeout_ms() const { return timeout_ms_; }

  // Metadata of one topic, or of all (nullptr). Failure when no broker
  // answers within the timeout (naming the addresses and why).
  Metadata metadata(const char* topic = nullptr);

  // Makes sure a broker answers (a Metadata request for no topic).
  void connect();

  // A queue for the result of one admin call.
  Queue queue() const { return Queue(rd_kafka_queue_new(rk_)); }

  // Admin options for `op` with the request and operation timeouts set.
  AdminOptions admin_options(rd_kafka_admin_op_t op) const;

  // One admin call: `call(options, queue)` starts it (librdkafka copies
  // its arguments), then its result event is awaited as wait() does.
  template <typename Call>
  Event admin_call(rd_kafka_admin_op_t op, rd_kafka_event_type_t type, const std::string& what, Call call) {
    Queue q = queue();
    AdminOptions opts = admin_options(op);
    call(opts.get(), q.get());
    return wait(q.get(), type, what);
  }

  // Waits for the result event of an admin call on queue `q`. Failure when
  // none comes within the timeout or the whole request failed.
  Event wait(rd_kafka_queue_t* q, rd_kafka_event_type_t type, const std::string& what);

  // (log start, high watermark) of a partition.
  std::pair<int64_t, int64_t> watermarks(const std::string& topic, int32_t partition);

  // "could not reach ... within N ms" with librdkafka's last error log line.
  std::string unreachable(const std::string& detail) const;

  // The last error librdkafka logged or reported ("" if none).
  std::string last_error() const;

 private:
  static void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf);
  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque);

  rd_kafka_t* rk_ = nullptr;
  std::string brokers_;
  int timeout_ms_;
  bool debug_ = false;
  mutable std::mutex mu_;
  std::string last_error_;
};

// Prints "keel-admin <path>: <what>: NAME: message" on stderr, for one item
// of a command that goes on with the others (it exits 1 at the end).
void report_error(const std::string& path, const std::string& what, const std::string& error);

// {"code": NAME, "message": text}, or null for no error.
Json error_json(rd_kafka_resp_err_t err, const char* message);

}  // namespace keel::admin
