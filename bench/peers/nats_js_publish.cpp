// keel-nats-publish: JetStream publishes on one NATS connection with
// js_PublishAsync's max-pending window, into a file-storage stream, for
// bench/compare. Prints one human-readable line and one JSON line with
// keel-load's keys.
#include <nats/nats.h>

#include <cinttypes>
#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "peer_options.hpp"
#include "peer_report.hpp"

namespace {

using keel::peers::monotonic_ns;

constexpr const char* kStream = "KEELBENCH";

void check(natsStatus s, const std::string& what) {
  if (s != NATS_OK) {
    throw std::runtime_error("nats: " + what + " failed: " + natsStatus_GetText(s) + " (" +
                             nats_GetLastError(nullptr) + ")");
  }
}

// The ack handler runs on libnats' subscription thread while the main thread
// publishes, so send times are kept per message under a lock.
struct Pending {
  std::mutex mu;
  std::unordered_map<const natsMsg*, uint64_t> sent_ns;
  keel::peers::AckRecorder acks;
  explicit Pending(int64_t warmup) : acks(warmup) {}
};

void on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  const uint64_t now = monotonic_ns();
  auto& p = *static_cast<Pending*>(closure);
  {
    const std::lock_guard lock(p.mu);
    const auto it = p.sent_ns.find(msg);
    const uint64_t sent = it != p.sent_ns.end() ? it->second : now;
    if (it != p.sent_ns.end()) p.sent_ns.erase(it);
    if (pa && !pae) {
      p.acks.ok(sent, now);
    } else {
      if (p.acks.failures() == 0) {
        fprintf(stderr, "keel-nats-publish: publish failed: %s\n",
                pae && pae->ErrText ? pae->ErrText : natsStatus_GetText(pae ? pae->Err : NATS_ERR));
      }
      p.acks.failed();
    }
  }
  natsMsg_Destroy(msg);
}

int run(const keel::peers::PeerOptions& o) {
  // Declared first so it outlives the connection whose thread calls on_ack.
  Pending pending(o.warmup);
  const std::string url = "nats://" + o.host + ":" + std::to_string(o.port);
  natsOptions* opts = nullptr;
  check(natsOptions_Create(&opts), "creating options");
  std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> opts_owner(opts, natsOptions_Destroy);
  check(natsOptions_SetURL(opts, url.c_str()), "setting the URL " + url);
  check(natsOptions_SetTimeout(opts, o.timeout_ms), "setting the timeout");
  // Without send-asap a lone publish waits for libnats' flusher thread (about
  // 2 ms here), which would make window 1 measure that thread, not the server.
  check(natsOptions_SetSendAsap(opts, true), "setting send-asap");
  natsConnection* nc = nullptr;
  check(natsConnection_Connect(&nc, opts), "connecting to " + url);
  std::unique_ptr<natsConnection, decltype(&natsConnection_Destroy)> nc_owner(nc, natsConnection_Destroy);

  jsOptions jo;
  check(jsOptions_Init(&jo), "initialising JetStream options");
  jo.Wait = o.timeout_ms;
  jo.PublishAsync.MaxPending = o.window;
  jo.PublishAsync.AckHandler = on_ack;
  jo.PublishAsync.AckHandlerClosure = &pending;
  // A full window blocks the publisher until an ack frees a slot, as the
  // other clients block; it fails only after the run's timeout.
  jo.PublishAsync.StallWait = o.timeout_ms;
  jsCtx* js = nullptr;
  check(natsConnection_JetStream(&js, nc, &jo), "creating the JetStream context");
  std::unique_ptr<jsCtx, decltype(&jsCtx_Destroy)> js_owner(js, jsCtx_Destroy);

  // A fresh file-storage stream per run, so runs start alike.
  jsErrCode jerr{};
  js_DeleteStream(js, kStream, nullptr, &jerr);
  jsStreamConfig sc;
  check(jsStreamConfig_Init(&sc), "initialising the stream config");
  const char* subjects[] = {o.target.c_str()};
  sc.Name = kStream;
  sc.Subjects = subjects;
  sc.SubjectsLen = 1;
  sc.Storage = js_FileStorage;
  jsStreamInfo* si = nullptr;
  check(js_AddStream(&si, js, &sc, nullptr, &jerr), "creating stream " + std::string(kStream));
  jsStreamInfo_Destroy(si);

  const std::vector<char> pool = keel::peers::make_payload_pool(o.size);
  const size_t pool_span = pool.size() - static_cast<size_t>(o.size);
  const uint64_t t0 = monotonic_ns();
  const uint64_t end_ns = o.duration_s > 0 ? t0 + static_cast<uint64_t>(o.duration_s * 1e9) : UINT64_MAX;
  {
    const std::lock_guard lock(pending.mu);
    pending.acks.start(t0);
  }
  int64_t sent = 0;
  for (;; ++sent) {
    {
      const std::lock_guard lock(pending.mu);
      if (pending.acks.failures() > 0) break;
    }
    if (o.count > 0 ? sent >= o.count : monotonic_ns() >= end_ns) break;
    const char* payload = pool.data() + (static_cast<size_t>(sent) * 7919) % (pool_span + 1);
    natsMsg* msg = nullptr;
    check(natsMsg_Create(&msg, o.target.c_str(), nullptr, payload, static_cast<int>(o.size)),
          "creating a message");
    {
      const std::lock_guard lock(pending.mu);
      pending.sent_ns[msg] = monotonic_ns();
    }
    const natsMsg* key = msg;
    const natsStatus s = js_PublishMsgAsync(js, &msg, nullptr);
    if (s != NATS_OK) {
      {
        const std::lock_guard lock(pending.mu);
        pending.sent_ns.erase(key);
      }
      natsMsg_Destroy(msg);
      check(s, "publishing to " + o.target);
    }
  }
  jsPubOptions po;
  check(jsPubOptions_Init(&po), "initialising publish options");
  po.MaxWait = o.timeout_ms;
  const natsStatus done = js_PublishAsyncComplete(js, &po);
  if (done != NATS_OK) {
    fprintf(stderr,
            "keel-nats-publish: not every publish was acknowledged within --timeout-ms %" PRId64 ": %s\n",
            o.timeout_ms, natsStatus_GetText(done));
  }
  const std::lock_guard lock(pending.mu);
  pending.acks.print("nats-jetstream", o.target, o.size, o.window, sent, ",\"storage\":\"file\"");
  return pending.acks.failures() > 0 || pending.acks.acked() < sent ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  keel::peers::PeerOptions o;
  try {
    o = keel::peers::parse_peer_options(argc, argv, "subject");
  } catch (const std::invalid_argument& e) {
    fprintf(stderr,
            "keel-nats-publish: %s\nusage: keel-nats-publish --port PORT [--subject SUBJECT (bench)]\n%s",
            e.what(), keel::peers::kPeerUsage);
    return 2;
  }
  int status = 1;
  try {
    status = run(o);
  } catch (const std::exception& e) {
    fprintf(stderr, "keel-nats-publish: %s\n", e.what());
  }
  nats_Close();
  return status;
}
