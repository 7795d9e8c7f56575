// One client connection: reads size-prefixed request frames, dispatches them
// to the API handlers in arrival order, and writes the responses back in that
// same order, whenever each handler finishes (produce acks and fetch long
// polls complete later, on other threads).
//
// Bounded: a connection with nothing in progress and no bytes moving for
// idle_timeout_ms is closed (Kafka's connections.max.idle.ms); once the first
// bytes of a request arrive, the whole request must arrive within
// request_timeout_ms; the bytes of a request are reserved from the
// broker-wide budget (queued_max_request_bytes) before they are read, and
// reading pauses, without a deadline, while the budget is spent. A
// periodic check (a quarter of the shorter timeout, 10 ms..5 s) enforces the
// deadlines.
//
// Threads: everything here runs on the connection's strand; Responder posts
// completions onto it from any thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/listener.hpp"
#include "common/request_memory.hpp"
#include "frame.hpp"
#include "loop_activity.hpp"
#include "protocol/writer.hpp"
#include "request.hpp"
#include "sasl_state.hpp"

namespace keel::kafka {

class Services;
struct ApiSpec;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;  // per connection
  // `tls`: the listener's TLS context (security_protocol SSL or SASL_SSL);
  // null for a plaintext listener.
  // `listener`: its index in settings.listeners.
  // `activity`: the loop's (Request::alone); null: never alone.
  Connection(Services& services, boost::asio::ip::tcp::socket socket, transport::Ticket ticket, Strand strand,
             std::shared_ptr<boost::asio::ssl::context> tls = nullptr, size_t listener = 0,
             LoopActivity* activity = nullptr);
  ~Connection();

  void start();
  // Closes the socket; pending responses are dropped.
  void close(const std::string& reason);
  Strand& strand() { return strand_; }
  bool is_open() const { return open_; }
  const std::string& peer() const { return peer_; }

  // Called on the strand (Responder posts here).
  void complete(uint64_t slot, std::optional<std::vector<Chunk>> body, bool flexible_header,
                bool close_after);
  // Decodes one request frame (the bytes after its size) and runs its
  // handler; called on the strand for each frame read. Public for the
  // request fuzzer (tests/fuzz/kafka_request.cpp), which feeds frames here.
  void dispatch(std::shared_ptr<Frame> frame);

 private:
  // Answers a request for an API or version Keel does not serve
  // (unsupported_api.hpp); logs the first one of the connection.
  void answer_unsupported(const Request& req, const ApiSpec* spec);
  // After SaslHandshake v0: the frame is a bare token (sasl_state.hpp).
  void answer_raw_token(const Frame& frame);
  // Closes once the responses queued so far are written (a failed SASL
  // exchange: the client reads why, then the connection ends).
  void close_after_responses();
  struct Slot {
    int32_t correlation_id = 0;
    int16_t api_key = 0;
    bool done = false;
    bool close_after = false;
    bool has_response = false;
    bool flexible_header = false;
    bool raw = false;  // a bare SASL token: no response header
    std::vector<Chunk> body;
    std::chrono::steady_clock::time_point started;
  };

  // Where the connection is between requests, for the deadlines.
  enum class Phase {
    between,      // waiting for a request's first byte: idle_timeout_ms applies
    request,      // a request is arriving: request_timeout_ms applies
    memory_wait,  // its size is known, its bytes wait for the budget: no deadline
  };
  using Clock = std::chrono::steady_clock;

  void read_size();
  void read_size_bytes();
  void on_size_bytes(size_t n);
  void reserve_and_read(uint32_t size);
  void read_body(uint32_t size, transport::Reservation memory);
  // Closes for a client's mistake: counted, logged rate-limited.
  void reject(const std::string& reason);
  void check_deadlines();
  void schedule_check();
  void write_ready();
  struct Outgoing;
  void send_chunks(const std::shared_ptr<Outgoing>& out);
  // TLS: reads a stored-batch chunk into memory (no sendfile through TLS);
  // false (and the connection closed) when the file cannot be read.
  bool load_file_chunk(Chunk& c);
  // No further request's bytes have arrived yet (Request::alone).
  bool nothing_arrived();
  // Runs `fn` with the byte stream: the TLS stream, or the socket itself.
  template <class Fn>
  void on_stream(Fn&& fn) {
    if (tls_) {
      fn(*tls_);
    } else {
      fn(socket_);
    }
  }
  void maybe_resume_reading();

  using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>;
  Services& services_;
  boost::asio::ip::tcp::socket socket_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;  // kept alive for tls_
  const size_t listener_;                                   // its index in settings.listeners
  LoopActivity* const activity_;                            // its loop's; may be null
  std::unique_ptr<TlsStream> tls_;                          // over socket_; null: plaintext
  std::string tls_subject_;   // a verified client certificate's subject (mutual TLS)
  transport::Ticket ticket_;  // counts this connection while open
  Strand strand_;
  boost::asio::steady_timer check_timer_;   // periodic deadline check
  boost::asio::steady_timer memory_timer_;  // retry while in memory_wait
  Phase phase_ = Phase::between;
  Clock::time_point last_activity_;    // bytes read or written, a response ready
  Clock::time_point request_started_;  // first byte of the request, or memory granted
  // When the connection last had more than one request in flight: such a
  // client is not alone (Request::alone) for kPipelinedLately after.
  static constexpr auto kPipelinedLately = std::chrono::seconds(1);
  Clock::time_point last_pipelined_{};
  int memory_retries_ = 0;
  size_t size_got_ = 0;  // bytes of size_buf_ read
  std::string peer_;
  bool open_ = true;
  bool writing_ = false;
  bool reading_ = false;
  bool read_paused_ = false;
  bool told_unsupported_ = false;            // an unsupported request was logged
  std::shared_ptr<Connection> paused_self_;  // set while reading is paused
  uint8_t size_buf_[4] = {};
  uint64_t next_slot_ = 0;
  std::map<uint64_t, Slot> slots_;  // in request order
  SaslState sasl_;
};

}  // namespace keel::kafka
