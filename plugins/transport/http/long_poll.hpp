// Waits, without a thread, until one of several partitions has data beyond
// a given offset or a deadline passes: broker watches plus an asio timer.
// `done` runs once, on the given executor (the connection's strand).
#pragma once

#include <keel/plugin.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace keel::web {

class CheckedBroker;
class Exchange;

struct WatchTarget {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;  // wake when the log end passes this
};

class LongPoll : public std::enable_shared_from_this<LongPoll> {
 public:
  // Starts waiting; the exchange's cancel (connection closed) ends the wait
  // early. A watch the broker refuses (the partition went away) ends it at
  // once: the caller's next read reports the error.
  static void start(const CheckedBroker& broker, const std::shared_ptr<Exchange>& x,
                    std::vector<WatchTarget> targets, int64_t timeout_ms, std::function<void()> done);

  LongPoll(const CheckedBroker& broker, boost::asio::any_io_executor executor, std::function<void()> done);
  ~LongPoll();

 private:
  static void on_watch(void* user);
  void finish(bool run_done);
  void unwatch_all();

  const CheckedBroker& broker_;
  boost::asio::any_io_executor executor_;
  boost::asio::steady_timer timer_;
  std::function<void()> done_;
  std::vector<keel_watch*> watches_;
  bool finished_ = false;
};

}  // namespace keel::web
