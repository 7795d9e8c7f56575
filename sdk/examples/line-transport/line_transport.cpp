// Transport `line`: a line-based TCP protocol, one request per line.
//
//   PUT <topic> <value>              -> OK <partition> <offset>
//   GET <topic> <partition> <offset> -> OK <offset> <value>   (null value: OK <offset>)
//   anything that fails              -> ERR <message>
//
// The value is the rest of the line (it may hold spaces, not newlines); PUT
// lets the topic's partitioner choose, with a null key, and answers once the
// record is stored (acks=all). GET decodes the batch whatever its codec.
//
//   [transports.line]
//   listen = "127.0.0.1:7070"   # port 0 picks a free one, logged at start
//
// Threads: start() spawns one acceptor thread, which spawns one thread per
// connection; stop() closes the listening socket, shuts the connections
// down and joins them all. Fine for an example, not for 10k clients.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <future>
#include <keel/broker.hpp>
#include <keel/codec.hpp>
#include <keel/plugin.hpp>
#include <keel/record_batch.hpp>
#include <list>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

namespace {

using keel::sdk::Error;

class LineTransport final : public keel::sdk::Transport {
 public:
  LineTransport(const keel::sdk::Host& host, const keel::sdk::Config& config, const keel_broker_api* api)
      : host_(host), broker_(api), listen_(config.get_string("listen", "127.0.0.1:7070")) {}

  ~LineTransport() override { stop(); }

  void start() override {
    const auto colon = listen_.rfind(':');
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    if (colon == std::string::npos ||
        inet_pton(AF_INET, listen_.substr(0, colon).c_str(), &addr.sin_addr) != 1)
      throw Error(KEEL_ERR_INVALID_ARGUMENT, "setting 'listen' is '" + listen_ + "'; use <ipv4>:<port>");
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(listen_.substr(colon + 1))));
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0)
      throw Error(KEEL_ERR_IO, "cannot listen on " + listen_ + ": " + std::strerror(errno));
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    host_.info("line transport listening on " + listen_.substr(0, colon) + ":" +
               std::to_string(ntohs(addr.sin_port)));
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  void stop() override {
    if (stopping_.exchange(true)) return;
    if (acceptor_.joinable()) acceptor_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    std::lock_guard lock(mutex_);
    for (auto& c : connections_) ::shutdown(c.fd, SHUT_RDWR);  // wakes their recv()
    for (auto& c : connections_) {
      c.thread.join();
      ::close(c.fd);
    }
    connections_.clear();
  }

 private:
  struct Connection {
    int fd;
    std::thread thread;
  };

  void accept_loop() {
    pollfd p{listen_fd_, POLLIN, 0};
    while (!stopping_) {
      if (::poll(&p, 1, 100) <= 0) continue;  // the timeout re-checks stopping_
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard lock(mutex_);
      connections_.push_back({fd, std::thread()});
      connections_.back().thread = std::thread([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    std::string buffer;
    char chunk[4096];
    for (;;) {
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<size_t>(n));
      for (size_t eol; (eol = buffer.find('\n')) != std::string::npos; buffer.erase(0, eol + 1)) {
        std::string answer;
        try {
          answer = "OK " + handle(buffer.substr(0, eol)) + "\n";
        } catch (const std::exception& e) {
          answer = std::string("ERR ") + e.what() + "\n";
        }
        if (::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(answer.size()))
          return;
      }
    }
  }

  std::string handle(const std::string& line) {
    std::istringstream in(line);
    std::string verb, topic;
    in >> verb >> topic;
    if (verb == "PUT" && !topic.empty())
      return put(topic, line.substr(std::min(line.size(), 5 + topic.size())));
    int32_t partition = -1;
    int64_t offset = -1;
    if (verb == "GET" && in >> partition >> offset) return get(topic, partition, offset);
    throw Error(KEEL_ERR_INVALID_ARGUMENT,
                "expected 'PUT <topic> <value>' or 'GET <topic> <partition> <offset>'");
  }

  std::string put(const std::string& topic, const std::string& value) {
    // With an [authorizer] in the broker's config, a transport must ask it
    // (this one knows no users: its clients are User:ANONYMOUS).
#if KEEL_TARGET_ABI_MINOR >= 5
    if (!broker_.allowed(anonymous_, KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_WRITE, topic))
      throw Error(KEEL_ERR_INVALID_ARGUMENT,
                  "User:ANONYMOUS is not authorized to WRITE topic '" + topic + "'");
#endif
    int32_t partition = 0;
    std::string message;
    const keel_status chosen = broker_.choose_partition(topic, std::nullopt, &partition, &message);
    if (chosen != KEEL_OK) throw Error(chosen, message);
    keel::batch::Record record;
    record.timestamp = host_.now_ms();
    record.value = value;
    const std::string batch = keel::batch::Builder().add(record).build();
    // The callback may run on the flusher thread; this connection waits.
    std::promise<keel::sdk::ProduceResult> done;
    broker_.produce(topic, partition, reinterpret_cast<const uint8_t*>(batch.data()), batch.size(),
                    KEEL_ACKS_ALL, [&done](const keel::sdk::ProduceResult& r) { done.set_value(r); });
    const auto r = done.get_future().get();
    if (r.status != KEEL_OK) throw Error(r.status, r.message);
    return std::to_string(partition) + " " + std::to_string(r.base_offset);
  }

  std::string get(const std::string& topic, int32_t partition, int64_t offset) {
#if KEEL_TARGET_ABI_MINOR >= 5
    if (!broker_.allowed(anonymous_, KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_READ, topic))
      throw Error(KEEL_ERR_INVALID_ARGUMENT,
                  "User:ANONYMOUS is not authorized to READ topic '" + topic + "'");
#endif
    std::unique_ptr<keel::sdk::FetchedRange> range;
    std::string message;
    const keel_status fetched = broker_.fetch(topic, partition, offset, 1 << 20, &range, &message);
    if (fetched != KEEL_OK) throw Error(fetched, message);
    std::string bytes(static_cast<size_t>(range->length()), '\0');
    if (::pread(range->fd(), bytes.data(), bytes.size(), range->position()) !=
        static_cast<ssize_t>(bytes.size()))
      throw Error(KEEL_ERR_IO, "short read of " + topic + "/" + std::to_string(partition));
    // The range starts at the batch holding `offset`, and may end in a
    // partial batch: stop there.
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
    for (size_t at = 0; at < bytes.size();) {
      const auto header = keel::batch::parse_header(p + at, bytes.size() - at);
      const size_t size = header ? static_cast<size_t>(header->batch_length) + keel::batch::kLogOverhead : 0;
      if (!header || at + size > bytes.size()) break;
      for (const auto& r : keel::codec::decode_batch(p + at, size))
        if (r.offset == offset) return std::to_string(offset) + (r.value ? " " + *r.value : "");
      at += size;
    }
    throw Error(KEEL_ERR_OUT_OF_RANGE, "no record at offset " + std::to_string(offset) + " of " + topic +
                                           "/" + std::to_string(partition) + "; the log ends at " +
                                           std::to_string(range->watermarks().high_watermark));
  }

  keel::sdk::Host host_;
  keel::sdk::Broker broker_;
  const keel::sdk::Broker::AuthzSubject anonymous_{"User:ANONYMOUS", "", "line"};
  std::string listen_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mutex_;                   // guards connections_
  std::list<Connection> connections_;  // a list: threads keep their element
};

}  // namespace

KEEL_PLUGIN("line-transport", "1.0.0", keel::sdk::transport_strategy<LineTransport>("line"))
