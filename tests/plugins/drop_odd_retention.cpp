// Retention `test-drop-odd`: deletes nothing; rewrites the closed segments
// from its clean point on, keeping only the batches with an even base
// offset. Exercises segment rewriting through the C++ wrapper. Setting
// `requires_keys` (default false) makes the topic refuse null keys.
#include <keel/plugin.hpp>
#include <string>

namespace {

using keel::sdk::Error;

void check(keel_status s, const keel_error& err, const char* what) {
  if (s != KEEL_OK) throw Error(s, std::string(what) + ": " + err.message);
}

class DropOdd final : public keel::sdk::Retention {
 public:
  static constexpr bool kRewrites = true;

  DropOdd(const keel::sdk::Host&, const keel::sdk::Config& config)
      : requires_keys_(config.get_bool("requires_keys", false)) {}

  size_t select(const keel::sdk::Segments&, int64_t) override { return 0; }
  bool requires_keys() override { return requires_keys_; }

  void rewrite(const keel_log_rewriter& log, int64_t) override {
    const keel::sdk::Segments segments(log.segments, log.segment_count, log.segment_size);
    size_t first = 0;
    while (first < segments.size() && segments[first].base_offset < log.clean_offset) ++first;
    if (first == log.segment_count) return;
    const size_t count = log.segment_count - first;
    keel_error err{};
    keel_rewrite* rw = nullptr;
    check(log.begin(log.ctx, first, count, &rw, &err), err, "begin");
    struct Copy {
      const keel_log_rewriter* log;
      keel_rewrite* rw;
      keel_status status = KEEL_OK;
      keel_error err{};
    } copy{&log, rw};
    auto visit = [](void* user, const uint8_t* batch, size_t len) -> int32_t {
      auto* c = static_cast<Copy*>(user);
      int64_t base = 0;
      for (int i = 0; i < 8; ++i) base = (base << 8) | batch[i];
      if (base % 2 != 0) return 1;
      c->status = c->log->write(c->log->ctx, c->rw, batch, len, &c->err);
      return c->status == KEEL_OK ? 1 : 0;
    };
    for (size_t i = first; i < first + count && copy.status == KEEL_OK; ++i) {
      keel_status s = log.read_segment(log.ctx, i, visit, &copy, &err);
      if (s != KEEL_OK) {
        log.abort(log.ctx, rw);
        check(s, err, "read_segment");
      }
    }
    if (copy.status != KEEL_OK) {
      log.abort(log.ctx, rw);
      check(copy.status, copy.err, "write");
    }
    check(log.commit(log.ctx, rw, segments[segments.size() - 1].next_offset, &err), err, "commit");
  }

 private:
  bool requires_keys_;
};

}  // namespace

KEEL_PLUGIN("test-drop-odd", "1.0.0", keel::sdk::retention_strategy<DropOdd>("test-drop-odd"))
