// One client connection: reads size-prefixed request frames, dispatches them
// to the API handlers in arrival order, and writes the responses back in that
// same order, whenever each handler finishes (produce acks and fetch long
// polls complete later, on other threads).
//
// Threads: everything here runs on the connection's strand; Responder posts
// completions onto it from any thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frame.hpp"
#include "protocol/writer.hpp"
#include "request.hpp"

namespace keel::kafka {

class Services;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;  // per connection
  Connection(Services& services, boost::asio::ip::tcp::socket socket, Strand strand);

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
  struct Slot {
    int32_t correlation_id = 0;
    int16_t api_key = 0;
    bool done = false;
    bool close_after = false;
    bool has_response = false;
    bool flexible_header = false;
    std::vector<Chunk> body;
    std::chrono::steady_clock::time_point started;
  };

  void read_size();
  void read_body(uint32_t size);
  void write_ready();
  struct Outgoing;
  void send_chunks(const std::shared_ptr<Outgoing>& out);
  void maybe_resume_reading();

  Services& services_;
  boost::asio::ip::tcp::socket socket_;
  Strand strand_;
  std::string peer_;
  bool open_ = true;
  bool writing_ = false;
  bool reading_ = false;
  bool read_paused_ = false;
  std::shared_ptr<Connection> paused_self_;  // set while reading is paused
  uint8_t size_buf_[4] = {};
  uint64_t next_slot_ = 0;
  std::map<uint64_t, Slot> slots_;  // in request order
};

}  // namespace keel::kafka
