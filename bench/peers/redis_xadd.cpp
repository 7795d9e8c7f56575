// keel-redis-xadd: XADD load on one Redis connection with a pipelining
// window, for bench/compare. Prints one human-readable line and one JSON line
// with keel-load's keys.
#include <hiredis/hiredis.h>

#include <cinttypes>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "peer_options.hpp"
#include "peer_report.hpp"

namespace {

using keel::peers::monotonic_ns;
using ReplyPtr = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};

ReplyPtr command(redisContext* c, const char* what, const std::string& key) {
  auto* r = static_cast<redisReply*>(redisCommand(c, what, key.c_str()));
  if (!r) throw std::runtime_error(std::string("redis: ") + what + " failed: " + c->errstr);
  return ReplyPtr(r, freeReplyObject);
}

// Replies come back in request order, so the send times are a FIFO ring.
void take_reply(redisReply* r, std::vector<uint64_t>& stamps, int64_t& next, keel::peers::AckRecorder& acks) {
  const uint64_t now = monotonic_ns();
  const uint64_t sent = stamps[static_cast<size_t>(next % static_cast<int64_t>(stamps.size()))];
  ++next;
  if (r->type == REDIS_REPLY_ERROR) {
    if (acks.failures() == 0) fprintf(stderr, "keel-redis-xadd: XADD failed: %s\n", r->str);
    acks.failed();
  } else {
    acks.ok(sent, now);
  }
  freeReplyObject(r);
}

int run(const keel::peers::PeerOptions& o) {
  const timeval timeout{static_cast<time_t>(o.timeout_ms / 1000),
                        static_cast<suseconds_t>(o.timeout_ms % 1000 * 1000)};
  std::unique_ptr<redisContext, ContextDeleter> ctx(redisConnectWithTimeout(o.host.c_str(), o.port, timeout));
  redisContext* c = ctx.get();
  if (!c || c->err) {
    throw std::runtime_error("cannot connect to redis at " + o.host + ":" + std::to_string(o.port) + ": " +
                             (c ? c->errstr : "out of memory"));
  }
  redisSetTimeout(c, timeout);
  // Every run starts on an empty stream, so runs do not pile up memory.
  command(c, "DEL %s", o.target);

  const std::vector<char> pool = keel::peers::make_payload_pool(o.size);
  const size_t pool_span = pool.size() - static_cast<size_t>(o.size);
  std::vector<uint64_t> stamps(static_cast<size_t>(o.window));
  keel::peers::AckRecorder acks(o.warmup);
  int64_t sent = 0;
  int64_t replied = 0;
  const uint64_t t0 = monotonic_ns();
  const uint64_t end_ns = o.duration_s > 0 ? t0 + static_cast<uint64_t>(o.duration_s * 1e9) : UINT64_MAX;
  acks.start(t0);
  bool sending = true;
  while (sending || replied < sent) {
    if (sending) {
      const uint64_t now = monotonic_ns();
      sending = acks.failures() == 0 && (o.count > 0 ? sent < o.count : now < end_ns);
      while (sending && sent - replied < o.window && (o.count <= 0 || sent < o.count)) {
        const char* payload = pool.data() + (static_cast<size_t>(sent) * 7919) % (pool_span + 1);
        stamps[static_cast<size_t>(sent % o.window)] = monotonic_ns();
        if (redisAppendCommand(c, "XADD %s * d %b", o.target.c_str(), payload, static_cast<size_t>(o.size)) !=
            REDIS_OK) {
          throw std::runtime_error(std::string("redis: cannot queue XADD: ") + c->errstr);
        }
        ++sent;
      }
    }
    if (replied == sent) continue;  // nothing outstanding: the run is over
    // redisGetReply writes what was queued, then blocks for the oldest reply;
    // the replies that came with it are taken without another read.
    void* reply = nullptr;
    if (redisGetReply(c, &reply) != REDIS_OK) {
      throw std::runtime_error(std::string("redis: reading a reply failed: ") + c->errstr);
    }
    take_reply(static_cast<redisReply*>(reply), stamps, replied, acks);
    while (replied < sent) {
      reply = nullptr;
      if (redisGetReplyFromReader(c, &reply) != REDIS_OK) {
        throw std::runtime_error(std::string("redis: parsing a reply failed: ") + c->errstr);
      }
      if (!reply) break;
      take_reply(static_cast<redisReply*>(reply), stamps, replied, acks);
    }
  }
  const ReplyPtr len = command(c, "XLEN %s", o.target);
  acks.print("redis-xadd", o.target, o.size, o.window, sent,
             ",\"stream_length\":" + std::to_string(len->type == REDIS_REPLY_INTEGER ? len->integer : -1));
  return acks.failures() > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  keel::peers::PeerOptions o;
  try {
    o = keel::peers::parse_peer_options(argc, argv, "key");
  } catch (const std::invalid_argument& e) {
    fprintf(stderr, "keel-redis-xadd: %s\nusage: keel-redis-xadd --port PORT [--key STREAM (bench)]\n%s",
            e.what(), keel::peers::kPeerUsage);
    return 2;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    fprintf(stderr, "keel-redis-xadd: %s\n", e.what());
    return 1;
  }
}
