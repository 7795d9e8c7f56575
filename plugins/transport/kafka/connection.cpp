#include "connection.hpp"

#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>

#include "request_header.hpp"
#include "services.hpp"
#include "unsupported_api.hpp"

namespace keel::kafka {
namespace asio = boost::asio;

// ------------------------------------------------------------- Responder

// An answer made on the connection's own strand (acks=1, or acks=all whose
// sync ran on this thread) is written at once, before the handler returns
// and the next read is tried; from another thread it is posted there.
void Responder::send(Writer&& body) const {
  auto conn = conn_.lock();
  if (!conn) return;
  auto chunks = std::make_shared<std::vector<Chunk>>(body.finish());
  asio::dispatch(conn->strand(), [conn, slot = slot_, chunks, flex = flexible_header_] {
    conn->complete(slot, std::move(*chunks), flex, false);
  });
}

void Responder::send_nothing() const {
  auto conn = conn_.lock();
  if (!conn) return;
  asio::dispatch(conn->strand(), [conn, slot = slot_] { conn->complete(slot, std::nullopt, false, false); });
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

namespace {
// Retrying a reservation: 5 ms at first, doubling to 100 ms.
constexpr int64_t kFirstMemoryRetryMs = 5;
constexpr int64_t kMaxMemoryRetryMs = 100;

// A request frame and the budget its bytes hold until it is freed.
struct HeldFrame {
  HeldFrame(uint32_t size, transport::Reservation m) : bytes(size), memory(std::move(m)) {}
  Frame bytes;
  transport::Reservation memory;
};
}  // namespace

Connection::Connection(Services& services, asio::ip::tcp::socket socket, transport::Ticket ticket,
                       Strand strand, std::shared_ptr<asio::ssl::context> tls, size_t listener,
                       LoopActivity* activity)
    : services_(services),
      socket_(std::move(socket)),
      tls_context_(std::move(tls)),
      listener_(listener),
      activity_(activity),
      ticket_(std::move(ticket)),
      strand_(std::move(strand)),
      check_timer_(strand_),
      memory_timer_(strand_),
      last_activity_(Clock::now()) {
  if (activity_ != nullptr) activity_->connections.fetch_add(1, std::memory_order_relaxed);
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  peer_ = ec ? "unknown peer" : ep.address().to_string() + ":" + std::to_string(ep.port());
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  // sendfile() on this socket must never block an I/O thread.
  socket_.native_non_blocking(true, ec);
  if (tls_context_) tls_ = std::make_unique<TlsStream>(socket_, *tls_context_);
  sasl_.peer = peer_;
  sasl_.listener = services_.settings.listeners.at(listener_).security_protocol;
  // An IPv4 client on a dual-stack socket is its IPv4 address to ACLs (as
  // for HTTP), so that a binding for "10.0.0.7" matches it.
  if (!ec) {
    const auto a = ep.address();
    sasl_.subject.host = a.is_v6() && a.to_v6().is_v4_mapped()
                             ? asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string()
                             : a.to_string();
  }
  sasl_.subject.listener = sasl_.listener;
  if (services_.settings.listeners.at(listener_).sasl()) {
    sasl_.required = true;
    sasl_.phase = SaslState::Phase::handshake;
    sasl_.principal.clear();
  }
}

Connection::~Connection() {
  if (activity_ != nullptr) activity_->connections.fetch_sub(1, std::memory_order_relaxed);
}

void Connection::start() {
  asio::post(strand_, [self = shared_from_this()] {
    self->schedule_check();
    if (!self->tls_) {
      self->read_size();
      return;
    }
    // The handshake is bounded like a request (request_timeout_ms).
    self->phase_ = Phase::request;
    self->request_started_ = Clock::now();
    self->reading_ = true;
    self->tls_->async_handshake(
        asio::ssl::stream_base::server,
        asio::bind_executor(self->strand_, [self](boost::system::error_code ec) {
          self->reading_ = false;
          if (ec) {
            // A plaintext client, an untrusted or missing client
            // certificate, no common TLS version: the client's mistake.
            self->reject("TLS handshake failed: " +
                         transport::handshake_failure_text(ec, self->tls_->native_handle()));
            return;
          }
          if (const std::string subject = transport::certificate_subject(self->tls_->native_handle());
              !subject.empty()) {
            self->tls_subject_ = subject;
            // Kafka's principal for a client certificate; a SASL login on a
            // SASL_SSL listener replaces it.
            self->sasl_.subject.principal = "User:" + subject;
          }
          self->last_activity_ = Clock::now();
          self->read_size();
        }));
  });
}

void Connection::close(const std::string& reason) {
  if (!open_) return;
  open_ = false;
  auto self = std::move(paused_self_);  // released when this call returns
  if (!reason.empty()) services_.client_log.info("closing connection from " + peer_ + ": " + reason);
  boost::system::error_code ec;
  // No TLS close_notify: the peer learns of the close from the TCP FIN, as
  // with Kafka's own broker; pending operations are cancelled by close().
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  ticket_.reset();
  check_timer_.cancel();
  memory_timer_.cancel();
  slots_.clear();
}

void Connection::reject(const std::string& reason) {
  if (!open_) return;
  services_.count_malformed();
  services_.client_log.warn("closing connection from " + peer_ + ": " + reason);
  close("");
}

void Connection::schedule_check() {
  const auto& l = services_.settings.limits;
  const int64_t period = std::clamp<int64_t>(std::min(l.idle_timeout_ms, l.request_timeout_ms) / 4, 10, 5000);
  check_timer_.expires_after(std::chrono::milliseconds(period));
  check_timer_.async_wait(
      asio::bind_executor(strand_, [self = shared_from_this()](boost::system::error_code ec) {
        if (ec || !self->open_) return;
        self->check_deadlines();
        if (self->open_) self->schedule_check();
      }));
}

void Connection::check_deadlines() {
  const auto& l = services_.settings.limits;
  const auto now = Clock::now();
  if (phase_ == Phase::request && now - request_started_ >= std::chrono::milliseconds(l.request_timeout_ms)) {
    services_.count_timed_out("request");
    services_.client_log.warn("closing connection from " + peer_ +
                              ": a request did not arrive in full within " +
                              std::to_string(l.request_timeout_ms) + " ms (request_timeout_ms)");
    close("");
    return;
  }
  if (phase_ != Phase::between) return;
  // A handler still working (a long-poll fetch, a group join) is not idle.
  for (const auto& [id, slot] : slots_) {
    if (!slot.done) return;
  }
  if (now - last_activity_ >= std::chrono::milliseconds(l.idle_timeout_ms)) {
    services_.count_timed_out("idle");
    services_.client_log.info("closing connection from " + peer_ + ": idle for " +
                              std::to_string(l.idle_timeout_ms) + " ms (idle_timeout_ms)");
    close("");
  }
}

void Connection::read_size() {
  if (!open_) return;
  phase_ = Phase::between;
  if (static_cast<int32_t>(slots_.size()) >= services_.settings.max_in_flight) {
    read_paused_ = true;  // resumed when responses drain
    // No read is pending now and responders hold only weak references: keep
    // the connection alive until its responses drain.
    paused_self_ = shared_from_this();
    return;
  }
  size_got_ = 0;
  read_size_bytes();
}

// Reads (the rest of) the 4-byte size; the request's deadline starts with
// its first byte.
void Connection::read_size_bytes() {
  reading_ = true;
  on_stream([&](auto& stream) {
    stream.async_read_some(
        asio::buffer(size_buf_ + size_got_, sizeof size_buf_ - size_got_),
        asio::bind_executor(strand_, [self = shared_from_this()](boost::system::error_code ec, size_t n) {
          self->reading_ = false;
          if (ec) {
            // EOF or reset: the client left.
            const bool midway = self->size_got_ > 0;
            self->close(ec != asio::error::eof ? ec.message()
                        : midway               ? "client left in the middle of a request"
                                               : "");
            return;
          }
          self->on_size_bytes(n);
        }));
  });
}

void Connection::on_size_bytes(size_t n) {
  last_activity_ = Clock::now();
  if (size_got_ == 0) {
    phase_ = Phase::request;
    request_started_ = last_activity_;
  }
  size_got_ += n;
  if (size_got_ < sizeof size_buf_) return read_size_bytes();
  uint32_t size = (uint32_t(size_buf_[0]) << 24) | (uint32_t(size_buf_[1]) << 16) |
                  (uint32_t(size_buf_[2]) << 8) | uint32_t(size_buf_[3]);
  const auto max = services_.settings.max_request_bytes;
  if (static_cast<int32_t>(size) <= 0 || static_cast<int64_t>(size) > max) {
    reject("request size " + std::to_string(static_cast<int32_t>(size)) + " is outside 1.." +
           std::to_string(max) + " (max_request_bytes); not a Kafka client, or raise max_request_bytes");
    return;
  }
  memory_retries_ = 0;
  reserve_and_read(size);
}

// Reading waits, without a deadline, until the budget has room for the
// request (Kafka mutes the channel the same way).
void Connection::reserve_and_read(uint32_t size) {
  if (!open_) return;
  transport::Reservation memory;
  if (transport::reserve_request_bytes(services_.broker.raw(), size, &memory)) {
    if (phase_ == Phase::memory_wait) request_started_ = Clock::now();  // the wait does not count
    phase_ = Phase::request;
    read_body(size, std::move(memory));
    return;
  }
  phase_ = Phase::memory_wait;
  const int shift = std::min(memory_retries_++, 5);
  memory_timer_.expires_after(
      std::chrono::milliseconds(std::min(kMaxMemoryRetryMs, kFirstMemoryRetryMs << shift)));
  memory_timer_.async_wait(
      asio::bind_executor(strand_, [self = shared_from_this(), size](boost::system::error_code ec) {
        if (!ec) self->reserve_and_read(size);
      }));
}

// One read of the whole frame into an uninitialised buffer (frame.hpp):
// no zero-fill, no regrowth copies.
void Connection::read_body(uint32_t size, transport::Reservation memory) {
  auto held = std::make_shared<HeldFrame>(size, std::move(memory));
  std::shared_ptr<Frame> frame(held, &held->bytes);  // frees the budget with the bytes
  reading_ = true;
  on_stream([&](auto& stream) {
    asio::async_read(
        stream, asio::buffer(frame->data(), frame->size()),
        asio::bind_executor(
            strand_, [self = shared_from_this(), frame](boost::system::error_code ec, size_t) {
              self->reading_ = false;
              if (ec) {
                self->close(ec == asio::error::eof ? "client left in the middle of a request" : ec.message());
                return;
              }
              self->last_activity_ = Clock::now();
              self->phase_ = Phase::between;
              self->dispatch(frame);
              self->read_size();
            }));
  });
}

void Connection::dispatch(std::shared_ptr<Frame> frame) {
  if (sasl_.phase == SaslState::Phase::raw_token) {
    answer_raw_token(*frame);
    return;
  }
  Request req;
  req.frame = frame;
  req.sasl = &sasl_;
  req.listener = listener_;
  Reader header(frame->data(), frame->size());
  const ApiSpec* spec = nullptr;
  try {
    if (read_request_header(header, req, &spec) != HeaderVerdict::kServe) {
      answer_unsupported(req, spec);
      return;
    }
  } catch (const ProtocolError& e) {
    reject(std::string("malformed request header: ") + e.what());
    return;
  }
  req.body = header;
  if (!sasl_.authenticated() && req.api_key != kApiVersionsKey && req.api_key != kSaslHandshakeKey &&
      req.api_key != kSaslAuthenticateKey) {
    // Kafka's rule: nothing but the handshake before authentication.
    reject(std::string(spec->name) + " before authenticating on a " + sasl_.listener +
           " listener; the client must use SASL (sasl.mechanism, sasl.username, sasl.password)");
    return;
  }

  const uint64_t slot_id = next_slot_++;
  Slot& slot = slots_[slot_id];
  slot.correlation_id = req.correlation_id;
  slot.api_key = req.api_key;
  slot.started = std::chrono::steady_clock::now();
  const bool flexible_header = flexible_response_header(req);
  // Every request counts as the loop's activity, whatever its API.
  const auto now = LoopActivity::Clock::now();
  const bool quiet_loop = activity_ != nullptr && activity_->dispatched(this, now);
  // A client that pipelines (more than one request in flight lately) is
  // served better by the flusher's group commit even when its pipeline
  // drains for a moment: a sync on this thread would leave its next
  // requests unread until it ends.
  if (slots_.size() > 1) last_pipelined_ = now;
  // Only a Produce asks (the check of the socket is a system call).
  req.alone = req.api_key == kProduceKey && quiet_loop && slots_.size() == 1 &&
              now - last_pipelined_ >= kPipelinedLately && nothing_arrived();
  Responder respond(weak_from_this(), slot_id, req.api_key, flexible_header);
  try {
    spec->handler(services_, req, respond);
  } catch (const ProtocolError& e) {
    reject(std::string("malformed ") + spec->name + " v" + std::to_string(req.api_version) +
           " request: " + e.what());
  } catch (const std::exception& e) {
    services_.host.error(std::string(spec->name) + " handler failed for " + peer_ + ": " + e.what());
    close("internal error");
  }
  if (sasl_.phase == SaslState::Phase::failed) close_after_responses();
}

// No bytes wait in the socket beyond the request being dispatched. Over
// TLS the stream may hold bytes already read from the socket, which asio
// does not show: never alone there.
bool Connection::nothing_arrived() {
  if (tls_) return false;
  boost::system::error_code ec;
  const size_t waiting = socket_.available(ec);
  return !ec && waiting == 0;
}

void Connection::close_after_responses() {
  const uint64_t slot_id = next_slot_++;
  slots_[slot_id].started = std::chrono::steady_clock::now();
  complete(slot_id, std::nullopt, false, true);
}

void Connection::answer_raw_token(const Frame& frame) {
  // SaslHandshake v0: a bare token in, a bare token out (no header).
  auto step =
      sasl_.session->step(std::string_view(reinterpret_cast<const char*>(frame.data()), frame.size()));
  if (step.status != KEEL_OK) {
    // Kafka closes at once here: v0 has no way to carry the error.
    services_.client_log.warn("SASL " + sasl_.mechanism + " authentication failed for " + peer_ + ": " +
                              step.message);
    sasl_.phase = SaslState::Phase::failed;
    sasl_.session.reset();
    close_after_responses();
    return;
  }
  if (step.done) sasl_.authenticated_as(step.principal);
  const uint64_t slot_id = next_slot_++;
  Slot& slot = slots_[slot_id];
  slot.raw = true;
  slot.api_key = kSaslAuthenticateKey;
  slot.started = std::chrono::steady_clock::now();
  Writer w;
  w.raw(step.challenge);
  complete(slot_id, w.finish(), false, false);
}

void Connection::answer_unsupported(const Request& req, const ApiSpec* spec) {
  if (!told_unsupported_) {
    told_unsupported_ = true;
    const std::string what = spec == nullptr
                                 ? "API key " + std::to_string(req.api_key) + ", which Keel does not serve"
                                 : std::string(spec->name) + " v" + std::to_string(req.api_version) +
                                       " (Keel serves v" + std::to_string(spec->min_version) + "-" +
                                       std::to_string(spec->max_version) + ")";
    services_.client_log.warn("client at " + peer_ + " sent " + what +
                              "; answered UNSUPPORTED_VERSION with the supported ranges (ApiVersions v0 "
                              "layout) and kept the connection; further ones on it are not logged");
  }
  const uint64_t slot_id = next_slot_++;
  Slot& slot = slots_[slot_id];
  slot.correlation_id = req.correlation_id;
  slot.api_key = req.api_key;
  slot.started = std::chrono::steady_clock::now();
  // A flexible version of a known API has a flexible response header: the
  // client reads the header of the version it sent. An unknown API's
  // flexibility is unknown: header v0.
  const bool flexible_header =
      spec != nullptr && spec->key != kApiVersionsKey && req.api_version >= spec->flexible_from;
  complete(slot_id, unsupported_api_answer().finish(), flexible_header, false);
}

void Connection::complete(uint64_t slot_id, std::optional<std::vector<Chunk>> body, bool flexible_header,
                          bool close_after) {
  auto it = slots_.find(slot_id);
  if (it == slots_.end() || it->second.done) return;  // connection closed meanwhile
  Slot& slot = it->second;
  slot.done = true;
  last_activity_ = Clock::now();
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

    // Frame: size, correlation id, [empty tagged fields], body chunks; a
    // bare SASL token (raw) has the size only.
    size_t body_size = 0;
    for (const auto& c : slot.body) body_size += c.file.length > 0 ? size_t(c.file.length) : c.bytes.size();
    const size_t header_size = slot.raw ? 0 : 4 + (slot.flexible_header ? 1 : 0);
    Writer h;
    h.int32(static_cast<int32_t>(header_size + body_size));
    if (!slot.raw) {
      h.int32(slot.correlation_id);
      h.tagged_fields(slot.flexible_header);
    }
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
    if (c.file.length > 0 && tls_) {
      // No sendfile() through TLS: the stored bytes are read and encrypted.
      if (!load_file_chunk(c)) return;
    }
    if (c.file.length > 0) {
      off_t off = static_cast<off_t>(c.file.position + out->file_sent);
      ssize_t n = ::sendfile(socket_.native_handle(), c.file.fd, &off,
                             static_cast<size_t>(c.file.length - out->file_sent));
      if (n > 0) {
        last_activity_ = Clock::now();
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
    if (tls_) {
      // The file chunks among these are read first (above, one at a time).
      while (next < out->chunks.size() && out->chunks[next].file.length > 0) {
        if (!load_file_chunk(out->chunks[next])) return;
        buffers.push_back(asio::buffer(out->chunks[next].bytes));
        ++next;
        while (next < out->chunks.size() && out->chunks[next].file.length <= 0) {
          buffers.push_back(asio::buffer(out->chunks[next].bytes));
          ++next;
        }
      }
    }
    on_stream([&](auto& stream) {
      asio::async_write(stream, buffers,
                        asio::bind_executor(strand_, [self = shared_from_this(), out, next](
                                                         boost::system::error_code ec, size_t) {
                          if (ec) {
                            self->writing_ = false;
                            self->close(ec.message());
                            return;
                          }
                          out->index = next;
                          self->last_activity_ = Clock::now();
                          self->send_chunks(out);
                        }));
    });
    return;
  }
  writing_ = false;
  write_ready();
}

bool Connection::load_file_chunk(Chunk& c) {
  std::string bytes(static_cast<size_t>(c.file.length), '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::pread(c.file.fd, bytes.data() + got, bytes.size() - got,
                              static_cast<off_t>(c.file.position + static_cast<int64_t>(got)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      writing_ = false;
      close(n == 0 ? "stored batches ended early while sending a fetch response"
                   : std::string("reading stored batches failed: ") + std::strerror(errno));
      return false;
    }
    got += static_cast<size_t>(n);
  }
  c.bytes = std::move(bytes);
  c.file = {};
  return true;
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
