// The transports' side of the broker-wide budget of request bytes held in
// memory (keel_broker_api 1.4 reserve_request_bytes/release_request_bytes,
// [broker] queued_max_request_bytes). A connection reserves the bytes of a
// request before reading it and stops reading while the budget is spent;
// the Reservation gives them back when the request's bytes are freed.
// On a broker older than 1.4 there is no budget and every reservation is
// granted.
//
// Threads: any.
#pragma once

#include <keel/plugin.h>

#include <cstdint>
#include <utility>

namespace keel::transport {

class Reservation {
 public:
  Reservation() = default;
  Reservation(const keel_broker_api* api, int64_t bytes) : api_(api), bytes_(bytes) {}
  Reservation(Reservation&& o) noexcept : api_(std::exchange(o.api_, nullptr)), bytes_(o.bytes_) {}
  Reservation& operator=(Reservation&& o) noexcept {
    if (this != &o) {
      reset();
      api_ = std::exchange(o.api_, nullptr);
      bytes_ = o.bytes_;
    }
    return *this;
  }
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation() { reset(); }

  void reset() {
    if (api_ != nullptr) api_->release_request_bytes(api_->ctx, bytes_);
    api_ = nullptr;
  }

 private:
  const keel_broker_api* api_ = nullptr;  // null: nothing to release
  int64_t bytes_ = 0;
};

// Reserves `bytes`; false when the budget is spent (pause reading, retry).
inline bool reserve_request_bytes(const keel_broker_api* api, int64_t bytes, Reservation* out) {
  if (!KEEL_HAS_FIELD(api, keel_broker_api, release_request_bytes) || api->reserve_request_bytes == nullptr ||
      api->release_request_bytes == nullptr) {
    *out = Reservation();
    return true;
  }
  if (api->reserve_request_bytes(api->ctx, bytes) == 0) return false;
  *out = Reservation(api, bytes);
  return true;
}

}  // namespace keel::transport
