// The bytes of one request frame. Its allocator leaves new bytes
// uninitialised: the socket read overwrites them at once, and zero-filling
// a 1 MiB produce request first cost as much CPU as checking its CRC. It
// also means that pages of a large frame are committed only as bytes arrive,
// so a client announcing a large request and sending little costs address
// space, not memory.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace keel::kafka {

template <class T>
struct UninitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitAllocator<U>;
  };
  UninitAllocator() = default;
  template <class U>
  UninitAllocator(const UninitAllocator<U>&) noexcept {}
  // Value-initialisation (resize) becomes default-initialisation: nothing.
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using Frame = std::vector<uint8_t, UninitAllocator<uint8_t>>;

}  // namespace keel::kafka
