// A GoogleTest fixture with one real etcd per test suite (ctest runs each
// test in its own process, so in practice one per test), and a key prefix
// per test so that tests sharing an etcd never see each other's keys.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "support/etcd_process.hpp"

namespace keel::test {

class EtcdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    etcd_ = std::make_unique<EtcdProcess>();
    start_error_ = etcd_->start();
  }
  static void TearDownTestSuite() { etcd_.reset(); }

  void SetUp() override {
    ASSERT_EQ(start_error_, "") << "cannot start etcd for this test";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    prefix_ = std::string("/keel-test/") + info->name() + "/";
  }

  static std::string endpoint() { return etcd_->endpoint(); }
  static EtcdProcess& etcd() { return *etcd_; }
  keel::etcd::EtcdClient client() const { return keel::etcd::EtcdClient({endpoint()}); }
  std::string key(const std::string& name) const { return prefix_ + name; }

  std::string prefix_;

 private:
  static inline std::unique_ptr<EtcdProcess> etcd_;
  static inline std::string start_error_;
};

}  // namespace keel::test
