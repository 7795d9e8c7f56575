// Collects the messages logged while it lives (the kernel logs through
// spdlog's default logger, plugins through the host into the same).
#pragma once

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace keel::test {

class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<Sink>()), level_(spdlog::default_logger()->level()) {
    spdlog::default_logger()->sinks().push_back(sink_);
    spdlog::default_logger()->set_level(spdlog::level::info);
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    spdlog::default_logger()->set_level(level_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  int count(const std::string& text) const {
    std::lock_guard lock(sink_->mu);
    int n = 0;
    for (const auto& m : sink_->messages) n += m.find(text) != std::string::npos ? 1 : 0;
    return n;
  }
  std::vector<std::string> errors() const {
    std::lock_guard lock(sink_->mu);
    return sink_->errors;
  }

 private:
  struct Sink : spdlog::sinks::base_sink<std::mutex> {
    mutable std::mutex mu;
    std::vector<std::string> messages;
    std::vector<std::string> errors;
    void sink_it_(const spdlog::details::log_msg& msg) override {
      std::lock_guard lock(mu);
      messages.emplace_back(msg.payload.data(), msg.payload.size());
      if (msg.level >= spdlog::level::warn) errors.push_back(messages.back());
    }
    void flush_() override {}
  };
  std::shared_ptr<Sink> sink_;
  spdlog::level::level_enum level_;
};

}  // namespace keel::test
