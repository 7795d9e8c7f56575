// The keel::Error a call throws, for tests that check its code and text.
#pragma once

#include <gtest/gtest.h>
#include <keel/plugin.h>

#include "common/error.hpp"

namespace keel::test {

// Fails the test (and returns an Error with KEEL_OK) when `fn` throws none.
template <class Fn>
keel::Error error_of(Fn&& fn) {
  try {
    fn();
  } catch (const keel::Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a keel::Error";
  return keel::Error(KEEL_OK, "");
}

}  // namespace keel::test
