// C++ view of keel_log_rewriter: what a rewriting retention
// strategy (a log cleaner) may do to one partition. Header-only; errors are
// keel::sdk::Error, as elsewhere in the SDK's C++ layer.
//
//   keel::sdk::LogRewriter log(table);
//   log.read_segment(0, [&](const uint8_t* batch, size_t len) { ...; return true; });
//   auto rw = log.begin(0, 2);  // replace closed segments 0 and 1 by one
//   rw.write(batch, len);       // batches keep their stored offsets
//   rw.commit(clean_offset);    // crash-safe swap; dropping rw aborts
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <keel/plugin.hpp>
#include <string>
#include <utility>

namespace keel::sdk {

class LogRewriter {
 public:
  explicit LogRewriter(const keel_log_rewriter& table) : t_(table) {}

  class Rewrite {
   public:
    Rewrite(const keel_log_rewriter& t, keel_rewrite* rw) : t_(&t), rw_(rw) {}
    Rewrite(Rewrite&& o) noexcept : t_(o.t_), rw_(std::exchange(o.rw_, nullptr)) {}
    Rewrite& operator=(Rewrite&&) = delete;
    Rewrite(const Rewrite&) = delete;
    ~Rewrite() { abort(); }

    void write(const uint8_t* batch, size_t len) {
      keel_error err{};
      check(t_->write(t_->ctx, rw_, batch, len, &err), err, "writing a batch to the replacement segment");
    }
    // Swaps the replacement in and records the clean point.
    void commit(int64_t clean_offset) {
      keel_error err{};
      keel_rewrite* rw = std::exchange(rw_, nullptr);
      check(t_->commit(t_->ctx, rw, clean_offset, &err), err, "committing the replacement segment");
    }
    void abort() {
      if (rw_ != nullptr) t_->abort(t_->ctx, std::exchange(rw_, nullptr));
    }

   private:
    const keel_log_rewriter* t_;
    keel_rewrite* rw_;
  };

  std::string topic() const { return t_.topic; }
  int32_t partition() const { return t_.partition; }
  size_t segment_count() const { return t_.segment_count; }
  // The closed segments, stepped by the broker's element size (rule 2).
  Segments segments() const { return Segments(t_.segments, t_.segment_count, t_.segment_size); }
  keel_segment_info segment(size_t i) const { return segments()[i]; }
  int64_t clean_offset() const { return t_.clean_offset; }
  int64_t segment_bytes() const { return t_.segment_bytes; }
  bool stopping() const { return t_.stopping(t_.ctx) != 0; }

  // Calls visit(batch, len) for each stored batch of closed segment i, in
  // order, until it returns false.
  template <class Visit>
  void read_segment(size_t i, Visit&& visit) const {
    struct Ctx {
      Visit* visit;
      std::exception_ptr error;
    } ctx{&visit, nullptr};
    auto trampoline = [](void* user, const uint8_t* batch, size_t len) -> int32_t {
      auto* c = static_cast<Ctx*>(user);
      try {
        return (*c->visit)(batch, len) ? 1 : 0;
      } catch (...) {
        // Never across the C boundary: rethrown once read_segment returns.
        c->error = std::current_exception();
        return 0;
      }
    };
    keel_error err{};
    const keel_status s = t_.read_segment(t_.ctx, i, trampoline, &ctx, &err);
    if (ctx.error) std::rethrow_exception(ctx.error);
    check(s, err, "reading closed segment #" + std::to_string(i));
  }

  // Starts replacing closed segments [first, first + count) by one segment.
  Rewrite begin(size_t first, size_t count) const {
    keel_error err{};
    keel_rewrite* rw = nullptr;
    check(t_.begin(t_.ctx, first, count, &rw, &err), err,
          "starting to rewrite closed segments #" + std::to_string(first) + ".." +
              std::to_string(first + count - 1));
    return Rewrite(t_, rw);
  }

 private:
  static void check(keel_status s, const keel_error& err, const std::string& what) {
    if (s != KEEL_OK) throw Error(s, what + " failed: " + err.message);
  }

  const keel_log_rewriter& t_;
};

}  // namespace keel::sdk
