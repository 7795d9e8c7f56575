// keel-wire-load: produces pre-built RecordBatch v2 batches over one Kafka
// connection with a fixed number of requests in flight, and nothing else.
//
// Why not librdkafka (keel-load)? To measure what the *broker* pays for a
// feature. librdkafka's idempotent producer costs the client several times
// the CPU of a plain one (its broker thread polls without waiting while 5
// requests are in flight), so with keel-load a client core saturates first
// and the comparison measures librdkafka. Here the client does the same tiny
// amount of work per request in both modes (patch the base sequence and
// recompute the CRC when idempotent), so a difference in throughput is the
// broker's.
//
//   keel-wire-load --brokers 127.0.0.1:9092 --topic bench --size 100
//       --records 1000 --requests 20000 --inflight 5 [--idempotent]
//
// With --rate it is an open-loop load: requests are due on a fixed
// schedule (--rate records/s, --records per request) whatever the broker
// does, and each latency counts from its request's due time, so a broker
// that falls behind shows in it (no coordinated omission). With few
// records per request it measures the broker's own tail at a message rate
// where librdkafka's queueing would hide it.
//
// --max-batches lets an open-loop client that fell behind catch up as real
// clients do: when several requests' worth of records are due at once, it
// sends them together, in one batch of up to N times --records records,
// instead of one by one. With one batch per request a client
// running near what its few requests in flight can carry (at 5 in flight
// and acks=all, the broker's fdatasync caps that at 1.1-1.4x the rate
// bench/compare asks for) drains a backlog only at the small difference,
// so one slow sync shows in hundreds of requests after it; librdkafka and
// the Java client grow their requests instead. Latency still counts from
// each batch's own due time.
//
// Prints one human line and one JSON line, like keel-load.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <keel/crc32c.hpp>
#include <keel/record_batch.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "histogram.hpp"

namespace {

const char* const kUsage =
    "usage: keel-wire-load [options]\n"
    "  --brokers HOST:PORT (127.0.0.1:9092)  --topic NAME (bench)  --partition N (0)\n"
    "  --size BYTES (100)        value size of each record\n"
    "  --records N (1000)        records per batch (one batch per Produce request)\n"
    "  --requests N (10000)      requests to measure, after --warmup more\n"
    "  --duration SECONDS        measure for this long instead of --requests\n"
    "  --warmup N (10% of --requests; 1000 with --duration)\n"
    "  --inflight N (5)          requests outstanding on the connection (at most, with --rate)\n"
    "  --rate N                  open loop: N records/s in requests due on a fixed schedule; latency\n"
    "                            from each batch's due time\n"
    "  --max-batches N (1)       open loop: when behind, send up to N due batches' records in one\n"
    "                            request (a real client's catch-up); 1: --records per request\n"
    "  --acks 1|all (all)\n"
    "  --idempotent              InitProducerId, then batches with producer id, epoch and sequences\n";

struct Options {
  std::string host = "127.0.0.1";
  int port = 9092;
  std::string topic = "bench";
  int32_t partition = 0;
  size_t size = 100;
  int records = 1000;
  long requests = 10000;
  long warmup = -1;
  double duration_s = 0;  // > 0: measure for this long, not --requests
  long rate = 0;          // records/s; > 0: open loop
  int inflight = 5;
  int max_batches = 1;  // due batches per request when behind (open loop)
  int16_t acks = -1;
  bool idempotent = false;
};

long to_long(const std::string& name, const std::string& v, long min) {
  size_t used = 0;
  long n = 0;
  try {
    n = std::stol(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v.size() || n < min)
    throw std::invalid_argument(name + " must be a whole number >= " + std::to_string(min) + ", got '" + v +
                                "'");
  return n;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--idempotent") {
      o.idempotent = true;
      continue;
    }
    if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
    const std::string v = argv[++i];
    if (arg == "--brokers") {
      const auto colon = v.rfind(':');
      if (colon == std::string::npos)
        throw std::invalid_argument("--brokers must be HOST:PORT, got '" + v + "'");
      o.host = v.substr(0, colon);
      o.port = static_cast<int>(to_long("--brokers port", v.substr(colon + 1), 1));
    } else if (arg == "--topic") {
      o.topic = v;
    } else if (arg == "--partition") {
      o.partition = static_cast<int32_t>(to_long(arg, v, 0));
    } else if (arg == "--size") {
      o.size = static_cast<size_t>(to_long(arg, v, 0));
    } else if (arg == "--records") {
      o.records = static_cast<int>(to_long(arg, v, 1));
    } else if (arg == "--requests") {
      o.requests = to_long(arg, v, 1);
    } else if (arg == "--duration") {
      size_t used = 0;
      try {
        o.duration_s = std::stod(v, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != v.size() || !(o.duration_s > 0))
        throw std::invalid_argument("--duration must be a number of seconds > 0, got '" + v + "'");
    } else if (arg == "--rate") {
      o.rate = to_long(arg, v, 1);
    } else if (arg == "--warmup") {
      o.warmup = to_long(arg, v, 0);
    } else if (arg == "--max-batches") {
      o.max_batches = static_cast<int>(to_long(arg, v, 1));
    } else if (arg == "--inflight") {
      o.inflight = static_cast<int>(to_long(arg, v, 1));
    } else if (arg == "--acks") {
      if (v != "1" && v != "all" && v != "-1")
        throw std::invalid_argument("--acks must be 1 or all, got '" + v + "'");
      o.acks = v == "1" ? 1 : -1;
    } else {
      throw std::invalid_argument("unknown option " + arg);
    }
  }
  if (o.idempotent && o.acks != -1)
    throw std::invalid_argument("--idempotent needs --acks all, as Kafka requires");
  if (o.max_batches > 1 && o.rate == 0)
    throw std::invalid_argument("--max-batches needs --rate: a closed loop is never behind a schedule");
  if (o.warmup < 0) o.warmup = o.duration_s > 0 ? 1000 : o.requests / 10;
  return o;
}

// ------------------------------------------------------------ the wire

void put16(std::string& b, int16_t v) {
  const uint16_t n = htons(static_cast<uint16_t>(v));
  b.append(reinterpret_cast<const char*>(&n), 2);
}
void put32(std::string& b, int32_t v) {
  const uint32_t n = htonl(static_cast<uint32_t>(v));
  b.append(reinterpret_cast<const char*>(&n), 4);
}
void put_string(std::string& b, const std::string* s) {
  if (s == nullptr) return put16(b, -1);
  put16(b, static_cast<int16_t>(s->size()));
  b += *s;
}
int16_t get16(const char* p) {
  uint16_t n;
  std::memcpy(&n, p, 2);
  return static_cast<int16_t>(ntohs(n));
}
int32_t get32(const char* p) {
  uint32_t n;
  std::memcpy(&n, p, 4);
  return static_cast<int32_t>(ntohl(n));
}
int64_t get64(const char* p) {
  return (static_cast<int64_t>(static_cast<uint32_t>(get32(p))) << 32) | static_cast<uint32_t>(get32(p + 4));
}

class Connection {
 public:
  Connection(const std::string& host, int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (fd_ < 0 || inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1 ||
        connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      throw std::runtime_error("cannot connect to " + host + ":" + std::to_string(port) + ": " +
                               std::strerror(errno));
    }
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Connection() { close(fd_); }

  // Waits until a response starts to arrive or `until`, whichever is first;
  // true when there is something to read.
  bool wait_readable(std::chrono::steady_clock::time_point until) {
    const auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return false;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    pollfd p{fd_, POLLIN, 0};
    const int n = ::ppoll(&p, 1, &ts, nullptr);
    if (n < 0 && errno != EINTR)
      throw std::runtime_error(std::string("poll failed: ") + std::strerror(errno));
    return n > 0;
  }

  // A request with header v1 (every API version this tool sends is not
  // flexible). The body goes from where it is, in one gathered write: a
  // copy into a fresh frame would cost a large request its page faults on
  // every send.
  void send(int16_t api_key, int16_t version, int32_t correlation, const std::string& body) {
    std::string head;
    const std::string client = "keel-wire-load";
    put32(head, 0);
    put16(head, api_key);
    put16(head, version);
    put32(head, correlation);
    put_string(head, &client);
    const uint32_t size = htonl(static_cast<uint32_t>(head.size() - 4 + body.size()));
    std::memcpy(head.data(), &size, 4);
    iovec parts[2] = {{head.data(), head.size()}, {const_cast<char*>(body.data()), body.size()}};
    write_all(parts, 2);
  }
  // The body of the next response after its correlation id, which must be
  // `correlation`: one connection answers in order.
  std::string receive(int32_t correlation) {
    char head[8];
    read_all(head, sizeof head);
    const int32_t size = get32(head);
    if (get32(head + 4) != correlation)
      throw std::runtime_error("response out of order: correlation " + std::to_string(get32(head + 4)) +
                               ", expected " + std::to_string(correlation));
    std::string body(static_cast<size_t>(size - 4), '\0');
    read_all(body.data(), body.size());
    return body;
  }

 private:
  void write_all(iovec* parts, int count) {
    while (count > 0) {
      msghdr m{};
      m.msg_iov = parts;
      m.msg_iovlen = static_cast<size_t>(count);
      const ssize_t n = ::sendmsg(fd_, &m, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error(std::string("send failed: ") + std::strerror(errno));
      // Skip what went; continue inside the part that went in part.
      auto left = static_cast<size_t>(n);
      while (count > 0 && left >= parts->iov_len) {
        left -= parts->iov_len;
        ++parts;
        --count;
      }
      if (count > 0) {
        parts->iov_base = static_cast<char*>(parts->iov_base) + left;
        parts->iov_len -= left;
      }
    }
  }
  void read_all(char* p, size_t len) {
    for (size_t done = 0; done < len;) {
      const ssize_t n = ::recv(fd_, p + done, len - done, 0);
      if (n <= 0) throw std::runtime_error("connection closed by the broker");
      done += static_cast<size_t>(n);
    }
  }
  int fd_ = -1;
};

// InitProducerId v0 without a transactional id: (producer id, epoch).
std::pair<int64_t, int16_t> init_producer_id(Connection& c) {
  std::string body;
  put_string(body, nullptr);
  put32(body, 60000);
  c.send(22, 0, 1, body);
  const std::string r = c.receive(1);
  const int16_t error = get16(r.data() + 4);
  if (error != 0) throw std::runtime_error("InitProducerId failed with Kafka error " + std::to_string(error));
  return {get64(r.data() + 6), get16(r.data() + 14)};
}

// Produce v3 of one batch to one partition, ready to send but for the
// batch bytes, which follow.
std::string produce_prefix(const Options& o, size_t batch_bytes) {
  std::string b;
  put_string(b, nullptr);  // transactional id
  put16(b, o.acks);
  put32(b, 30000);
  put32(b, 1);
  put_string(b, &o.topic);
  put32(b, 1);
  put32(b, o.partition);
  put32(b, static_cast<int32_t>(batch_bytes));
  return b;
}

// (error code, base offset) of a Produce v3 response to one partition.
std::pair<int16_t, int64_t> produce_outcome(const std::string& r) {
  size_t p = 4;                                       // topic count
  p += 2 + static_cast<size_t>(get16(r.data() + p));  // topic name
  p += 4 + 4;                                         // partition count, index
  return {get16(r.data() + p), get64(r.data() + p + 2)};
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int run(const Options& o) {
  Connection c(o.host, o.port);
  int64_t producer_id = -1;
  int16_t epoch = -1;
  if (o.idempotent) std::tie(producer_id, epoch) = init_producer_id(c);

  const std::string value(o.size, 'v');
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  // requests[k - 1]: a request of one batch of k * --records records
  // (Produce v3 and later allow one batch per partition), all built before
  // the first is sent: building one on demand (19 ms for 8,800 records of
  // 100 B, most of it first-touch page faults) stalled the schedule.
  std::vector<std::string> requests;
  for (int k = 1; k <= o.max_batches; ++k) {
    keel::batch::Builder builder;
    for (int i = 0; i < k * o.records; ++i) builder.add(std::nullopt, value, now);
    if (o.idempotent) builder.producer(producer_id, epoch, 0);
    const std::string batch = builder.build();
    requests.push_back(produce_prefix(o, batch.size()) + batch);
  }
  const auto request_of = [&](int k) -> std::string& { return requests[static_cast<size_t>(k - 1)]; };
  // RecordBatch v2: baseSequence at byte 53, CRC (of everything from the
  // attributes at byte 21) at byte 17; the batch starts after the prefix.
  constexpr size_t kCrcAt = 17, kCrcFrom = 21, kBaseSequenceAt = 53;
  const size_t batch_at = produce_prefix(o, 0).size();

  const long total = o.requests + o.warmup;  // unless --duration
  struct Pending {
    int32_t correlation;
    std::chrono::steady_clock::time_point at;  // the first batch's due (or send) time
    int batches;
  };
  std::deque<Pending> pending;
  keel::load::LatencyHistogram latency_us;
  int32_t sequence = 0;
  long sent = 0, answered = 0, batches_measured = 0;
  std::chrono::steady_clock::time_point measured_from = std::chrono::steady_clock::now();
  double cpu_from = cpu_seconds();
  const auto more = [&] {
    if (o.duration_s <= 0) return sent < total;
    return answered < o.warmup ||
           std::chrono::duration<double>(std::chrono::steady_clock::now() - measured_from).count() <
               o.duration_s;
  };
  // Open loop: the due time of the next request.
  const auto interval = std::chrono::nanoseconds(o.rate > 0 ? 1000000000LL * o.records / o.rate : 0);
  auto next_due = std::chrono::steady_clock::now();
  while (true) {
    while (more() && pending.size() < static_cast<size_t>(o.inflight) &&
           (o.rate == 0 || std::chrono::steady_clock::now() >= next_due)) {
      // Behind the schedule: the batches due by now go together.
      int k = 1;
      if (o.rate > 0) {
        const auto now = std::chrono::steady_clock::now();
        while (k < o.max_batches && next_due + k * interval <= now) ++k;
      }
      std::string& request = request_of(k);
      if (o.idempotent) {
        char* b = request.data() + batch_at;
        const uint32_t seq = htonl(static_cast<uint32_t>(sequence));
        std::memcpy(b + kBaseSequenceAt, &seq, 4);
        const uint32_t crc = htonl(keel::crc32c(b + kCrcFrom, request.size() - batch_at - kCrcFrom));
        std::memcpy(b + kCrcAt, &crc, 4);
        sequence += k * o.records;
      }
      const auto correlation = static_cast<int32_t>(sent + 2);
      c.send(0, 3, correlation, request);
      pending.push_back({correlation, o.rate > 0 ? next_due : std::chrono::steady_clock::now(), k});
      next_due += k * interval;
      ++sent;
    }
    if (o.rate > 0 && more() && pending.size() < static_cast<size_t>(o.inflight) &&
        !c.wait_readable(next_due)) {
      continue;  // the next request is due before any answer came
    }
    if (pending.empty()) {
      if (o.rate > 0 && more()) continue;
      break;
    }
    const auto [correlation, at, batches] = pending.front();
    pending.pop_front();
    const auto [error, base] = produce_outcome(c.receive(correlation));
    if (error != 0)
      throw std::runtime_error("request " + std::to_string(answered) + " failed with Kafka error " +
                               std::to_string(error));
    ++answered;
    if (answered == o.warmup) {
      measured_from = std::chrono::steady_clock::now();
      cpu_from = cpu_seconds();
    } else if (answered > o.warmup) {
      const auto now = std::chrono::steady_clock::now();
      for (int i = 0; i < batches; ++i) {
        latency_us.record(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(now - (at + i * interval)).count()));
      }
      batches_measured += batches;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - measured_from).count();
  const long measured = answered - o.warmup;
  const double msgs = static_cast<double>(batches_measured) * o.records;
  const double cpu = cpu_seconds() - cpu_from;
  std::printf(
      "wire produce: %ld requests of %d records (up to %d x that when behind), %.0f records, x %zu B "
      "acks=%s%s inflight=%d: %.0f msgs/s, %.2f MB/s over %.2f s; "
      "latency us (per %d records, from their due time with --rate) p50 %llu p99 %llu p99.9 %llu max %llu; "
      "client cpu %.2f s\n",
      measured, o.records, o.max_batches, msgs, o.size, o.acks == 1 ? "1" : "all",
      o.idempotent ? " idempotent" : "", o.inflight, msgs / seconds,
      msgs * static_cast<double>(o.size) / seconds / 1e6, seconds, o.records,
      static_cast<unsigned long long>(latency_us.percentile(0.5)),
      static_cast<unsigned long long>(latency_us.percentile(0.99)),
      static_cast<unsigned long long>(latency_us.percentile(0.999)),
      static_cast<unsigned long long>(latency_us.max()), cpu);
  std::printf(
      "{\"mode\":\"wire-produce\",\"size\":%zu,\"records_per_batch\":%d,\"requests\":%ld,\"records\":%.0f,"
      "\"inflight\":%d,\"max_batches\":%d,\"rate\":%ld,"
      "\"acks\":\"%s\",\"idempotent\":%s,\"seconds\":%.6f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,"
      "\"latency_us\":{\"p50\":%llu,\"p99\":%llu,\"p999\":%llu,\"max\":%llu},\"client_cpu_s\":%.3f}\n",
      o.size, o.records, measured, msgs, o.inflight, o.max_batches, o.rate, o.acks == 1 ? "1" : "all",
      o.idempotent ? "true" : "false", seconds, msgs / seconds,
      msgs * static_cast<double>(o.size) / seconds / 1e6,
      static_cast<unsigned long long>(latency_us.percentile(0.5)),
      static_cast<unsigned long long>(latency_us.percentile(0.99)),
      static_cast<unsigned long long>(latency_us.percentile(0.999)),
      static_cast<unsigned long long>(latency_us.max()), cpu);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "keel-wire-load: %s\n%s", e.what(), kUsage);
    return 2;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "keel-wire-load: %s\n", e.what());
    return 1;
  }
}
