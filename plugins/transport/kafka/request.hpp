// A decoded request header with its body, and the Responder through which a
// handler answers it, at once or later from any thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frame.hpp"
#include "protocol/reader.hpp"
#include "protocol/writer.hpp"

namespace keel::kafka {

class Connection;
struct SaslState;

struct Request {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
  bool flexible = false;         // body and header use the flexible encoding
  Reader body;                   // positioned after the header
  std::shared_ptr<Frame> frame;  // owns the bytes `body` reads
  // The connection's authentication (valid during the handler call, on the
  // connection's strand); null where no connection stands behind the
  // request (the fuzzer's).
  SaslState* sasl = nullptr;
  // Set for a Produce only: nothing else is in flight on the connection,
  // nor was in the last second (a client that pipelines), no further
  // request has arrived, and no other connection of its event loop sent
  // one lately (LoopActivity). The produce may then let acks=all's sync
  // run on this thread (KEEL_PRODUCE_SYNC_HERE).
  bool alone = false;
  // Which of settings.listeners the request came in through: answers that
  // name brokers name them by that listener's addresses.
  size_t listener = 0;
};

// Answers one request. Copyable; exactly one of send()/send_nothing() must be
// called once, from any thread. Responses leave the connection in request
// order whatever order handlers finish in.
class Responder {
 public:
  Responder(std::weak_ptr<Connection> conn, uint64_t slot, int16_t api_key, bool flexible_header)
      : conn_(std::move(conn)), slot_(slot), api_key_(api_key), flexible_header_(flexible_header) {}

  void send(Writer&& body) const;
  // For requests that get no answer (Produce with acks=0).
  void send_nothing() const;
  // Closes the connection after the responses before this one (protocol
  // violations the client cannot recover from).
  void close() const;
  // The connection's strand: post continuations (timers, callbacks) here.
  boost::asio::any_io_executor executor() const;
  bool open() const;

 private:
  std::weak_ptr<Connection> conn_;
  uint64_t slot_;
  int16_t api_key_;
  bool flexible_header_;
};

class Services;
using Handler = void (*)(Services& services, Request& request, const Responder& respond);

}  // namespace keel::kafka
