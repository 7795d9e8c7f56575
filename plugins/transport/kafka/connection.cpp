#include "connection.hpp"

#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>

#include "api_table.hpp"
#include "services.hpp"

namespace keel::kafka {
namespace asio = boost::asio;

// ------------------------------------------------------------- Responder

void Responder::send(Writer&& body) const {
  auto conn = conn_.lock();
  if (!conn) return;
  auto chunks = std::make_shared<std::vector<Chunk>>(body.finish());
  asio::post(conn->strand(), [conn, slot = slot_, chunks, flex = flexible_header_] {
    conn->complete(slot, std::move(*chunks), flex, false);
  });
}

void Responder::send_nothing() const {
  auto conn = conn_.lock();
  if (!conn) return;
  asio::post(conn->strand(), [conn, slot = slot_] { conn->complete(slot, std::nullopt, false, false); });
}

void Responder::close() const {
  auto conn = conn_.lock();
  if (!conn) return;
  asio::post(conn->strand(), [conn, slot = slot_] { conn->complete(slot, std::nullopt, false, true); });
}

asio::any_io_executor Responder::executor() const {
  auto conn = conn_.lock();
  if (!conn) return {};
  return conn->strand();
}

bool Responder::open() const {
  auto conn = conn_.lock();
  return conn && conn->is_open();
}

// ------------------------------------------------------------ Connection

Connection::Connection(Services& services, asio::ip::tcp::socket socket, Strand strand)
    : services_(services), socket_(std::move(socket)), strand_(std::move(strand)) {
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  peer_ = ec ? "unknown peer" : ep.address().to_string() + ":" + std::to_string(ep.port());
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  // sendfile() on this socket must never block an I/O thread.
  socket_.native_non_blocking(true, ec);
}

void Connection::start() {
  asio::post(strand_, [self = shared_from_this()] { self->read_size(); });
}

void Connection::close(const std::string& reason) {
  if (!open_) return;
  open_ = false;
  auto self = std::move(paused_self_);  // released when this call returns
  services_.connection_closed();
  if (!reason.empty()) services_.host.info("closing connection from " + peer_ + ": " + reason);
  boost::system::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  slots_.clear();
}

void Connection::read_size() {
  if (!open_) return;
  if (static_cast<int32_t>(slots_.size()) >= services_.settings.max_in_flight) {
    read_paused_ = true;  // resumed when responses drain
    // No read is pending now and responders hold only weak references: keep
    // the connection alive until its responses drain.
    paused_self_ = shared_from_this();
    return;
  }
  reading_ = true;
  asio::async_read(
      socket_, asio::buffer(size_buf_),
      asio::bind_executor(strand_, [self = shared_from_this()](boost::system::error_code ec, size_t) {
        self->reading_ = false;
        if (ec) {
          // EOF or reset: the client left, possibly mid-request.
          self->close(ec == asio::error::eof ? "" : ec.message());
          return;
        }
        uint32_t size = (uint32_t(self->size_buf_[0]) << 24) | (uint32_t(self->size_buf_[1]) << 16) |
                        (uint32_t(self->size_buf_[2]) << 8) | uint32_t(self->size_buf_[3]);
        const auto max = self->services_.settings.max_request_bytes;
        if (static_cast<int32_t>(size) <= 0 || static_cast<int64_t>(size) > max) {
          self->close("request size " + std::to_string(static_cast<int32_t>(size)) + " is outside 1.." +
                      std::to_string(max) +
                      " (max_request_bytes); not a Kafka client, or raise max_request_bytes");
          return;
        }
        self->read_body(size);
      }));
}

// One read of the whole frame into an uninitialised buffer (frame.hpp):
// no zero-fill, no regrowth copies.
void Connection::read_body(uint32_t size) {
  auto frame = std::make_shared<Frame>(size);
  reading_ = true;
  asio::async_read(
      socket_, asio::buffer(frame->data(), frame->size()),
      asio::bind_executor(strand_, [self = shared_from_this(), frame](boost::system::error_code ec, size_t) {
        self->reading_ = false;
        if (ec) {
          self->close(ec == asio::error::eof ? "client left in the middle of a request" : ec.message());
          return;
        }
        self->dispatch(frame);
        self->read_size();
      }));
}

void Connection::dispatch(std::shared_ptr<Frame> frame) {
  Request req;
  req.frame = frame;
  Reader header(frame->data(), frame->size());
  const ApiSpec* spec = nullptr;
  try {
    req.api_key = header.int16();
    req.api_version = header.int16();
    req.correlation_id = header.int32();
    spec = find_api(req.api_key);
    if (spec == nullptr) {
      // What Kafka does: clients probing for APIs (kafka-python) expect it.
      close("unsupported API key " + std::to_string(req.api_key));
      return;
    }
    const bool in_range = req.api_version >= spec->min_version && req.api_version <= spec->max_version;
    if (!in_range && spec->key != kApiVersionsKey) {
      close(std::string(spec->name) + " v" + std::to_string(req.api_version) +
            " is not supported (versions " + std::to_string(spec->min_version) + "-" +
            std::to_string(spec->max_version) + ")");
      return;
    }
    req.flexible = in_range && req.api_version >= spec->flexible_from;
    req.client_id = header.nullable_string();  // int16 length even in header v2
    if (req.flexible) header.tagged_fields();
  } catch (const ProtocolError& e) {
    close(std::string("malformed request header: ") + e.what());
    return;
  }
  req.body = header;

  const uint64_t slot_id = next_slot_++;
  Slot& slot = slots_[slot_id];
  slot.correlation_id = req.correlation_id;
  slot.api_key = req.api_key;
  slot.started = std::chrono::steady_clock::now();
  // ApiVersions answers with header v0 always (KIP-511).
  const bool flexible_header = req.flexible && req.api_key != kApiVersionsKey;
  Responder respond(weak_from_this(), slot_id, req.api_key, flexible_header);
  try {
    spec->handler(services_, req, respond);
  } catch (const ProtocolError& e) {
    close(std::string("malformed ") + spec->name + " v" + std::to_string(req.api_version) +
          " request: " + e.what());
  } catch (const std::exception& e) {
    services_.host.error(std::string(spec->name) + " handler failed for " + peer_ + ": " + e.what());
    close("internal error");
  }
}

void Connection::complete(uint64_t slot_id, std::optional<std::vector<Chunk>> body, bool flexible_header,
                          bool close_after) {
  auto it = slots_.find(slot_id);
  if (it == slots_.end() || it->second.done) return;  // connection closed meanwhile
  Slot& slot = it->second;
  slot.done = true;
  slot.close_after = close_after;
  slot.has_response = body.has_value();
  slot.flexible_header = flexible_header;
  if (body) slot.body = std::move(*body);
  services_.observe_request(
      slot.api_key, std::chrono::duration<double>(std::chrono::steady_clock::now() - slot.started).count());
  write_ready();
}

// Responses ready to go, written in order: encoded bytes with one gathered
// write, stored batches straight from the segment file with sendfile().
struct Connection::Outgoing {
  std::vector<Chunk> chunks;
  size_t index = 0;       // chunk being written
  int64_t file_sent = 0;  // bytes of the current file chunk already sent
};

void Connection::write_ready() {
  if (!open_ || writing_) return;
  auto out = std::make_shared<Outgoing>();
  // Several finished responses go out in one write (bounded).
  while (!slots_.empty() && slots_.begin()->second.done && out->chunks.size() < 256) {
    if (slots_.begin()->second.close_after) {
      if (!out->chunks.empty()) break;  // send what precedes it first
      close("protocol violation");
      return;
    }
    Slot slot = std::move(slots_.begin()->second);
    slots_.erase(slots_.begin());
    if (!slot.has_response) continue;

    // Frame: size, correlation id, [empty tagged fields], body chunks.
    size_t body_size = 0;
    for (const auto& c : slot.body) body_size += c.file.length > 0 ? size_t(c.file.length) : c.bytes.size();
    const size_t header_size = 4 + (slot.flexible_header ? 1 : 0);
    Writer h;
    h.int32(static_cast<int32_t>(header_size + body_size));
    h.int32(slot.correlation_id);
    h.tagged_fields(slot.flexible_header);
    for (auto& c : h.finish()) out->chunks.push_back(std::move(c));
    for (auto& c : slot.body) out->chunks.push_back(std::move(c));
  }
  if (out->chunks.empty()) {
    maybe_resume_reading();
    return;
  }
  writing_ = true;
  send_chunks(out);
}

void Connection::send_chunks(const std::shared_ptr<Outgoing>& out) {
  while (open_ && out->index < out->chunks.size()) {
    Chunk& c = out->chunks[out->index];
    if (c.file.length > 0) {
      off_t off = static_cast<off_t>(c.file.position + out->file_sent);
      ssize_t n = ::sendfile(socket_.native_handle(), c.file.fd, &off,
                             static_cast<size_t>(c.file.length - out->file_sent));
      if (n > 0) {
        out->file_sent += n;
        if (out->file_sent == c.file.length) {
          ++out->index;
          out->file_sent = 0;
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        socket_.async_wait(
            asio::ip::tcp::socket::wait_write,
            asio::bind_executor(strand_, [self = shared_from_this(), out](boost::system::error_code ec) {
              if (ec) {
                self->writing_ = false;
                self->close(ec.message());
                return;
              }
              self->send_chunks(out);
            }));
        return;
      }
      writing_ = false;
      close(n == 0 ? "stored batches ended early while sending a fetch response"
                   : std::string("sendfile failed: ") + std::strerror(errno));
      return;
    }
    std::vector<asio::const_buffer> buffers;
    size_t next = out->index;
    while (next < out->chunks.size() && out->chunks[next].file.length <= 0) {
      buffers.push_back(asio::buffer(out->chunks[next].bytes));
      ++next;
    }
    asio::async_write(socket_, buffers,
                      asio::bind_executor(strand_, [self = shared_from_this(), out, next](
                                                       boost::system::error_code ec, size_t) {
                        if (ec) {
                          self->writing_ = false;
                          self->close(ec.message());
                          return;
                        }
                        out->index = next;
                        self->send_chunks(out);
                      }));
    return;
  }
  writing_ = false;
  write_ready();
}

void Connection::maybe_resume_reading() {
  if (open_ && read_paused_ && !reading_ &&
      static_cast<int32_t>(slots_.size()) < services_.settings.max_in_flight) {
    read_paused_ = false;
    auto self = std::move(paused_self_);  // the new read holds it from here
    read_size();
  }
}

}  // namespace keel::kafka
