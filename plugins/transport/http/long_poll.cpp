#include "long_poll.hpp"

#include <boost/asio/post.hpp>
#include <chrono>

#include "checked_broker.hpp"
#include "exchange.hpp"

namespace keel::web {
namespace asio = boost::asio;

LongPoll::LongPoll(const CheckedBroker& broker, asio::any_io_executor executor, std::function<void()> done)
    : broker_(broker), executor_(executor), timer_(executor), done_(std::move(done)) {}

LongPoll::~LongPoll() { unwatch_all(); }

void LongPoll::start(const CheckedBroker& broker, const std::shared_ptr<Exchange>& x,
                     std::vector<WatchTarget> targets, int64_t timeout_ms, std::function<void()> done) {
  auto poll = std::make_shared<LongPoll>(broker, x->executor, std::move(done));
  // Everything below runs on the strand, as do the wake-ups it posts, so
  // `watches_` and `finished_` need no lock.
  std::weak_ptr<LongPoll> weak = poll;
  // Cancel runs on the strand too (Session::close), and unwatches at once so
  // that no watch outlives a stopping server.
  x->on_cancel([weak] {
    if (auto p = weak.lock()) p->finish(false);
  });
  poll->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  poll->timer_.async_wait([poll](boost::system::error_code ec) {
    if (!ec) poll->finish(true);
  });
  for (const auto& t : targets) {
    try {
      poll->watches_.push_back(broker.watch(t.topic, t.partition, t.offset, &LongPoll::on_watch, poll.get()));
    } catch (...) {
      poll->finish(true);
      return;
    }
  }
}

void LongPoll::on_watch(void* user) {
  // Broker thread (or inside watch() itself): never block, hop to the strand.
  // The poll is alive here: it unwatches before it can be destroyed, and
  // unwatch waits for a running callback.
  auto* self = static_cast<LongPoll*>(user);
  if (auto p = self->weak_from_this().lock()) {
    asio::post(p->executor_, [p] { p->finish(true); });
  }
}

void LongPoll::finish(bool run_done) {
  if (finished_) return;
  finished_ = true;
  unwatch_all();
  timer_.cancel();
  auto done = std::move(done_);
  done_ = nullptr;
  if (run_done && done) done();
}

void LongPoll::unwatch_all() {
  for (keel_watch* w : watches_) broker_.unwatch(w);
  watches_.clear();
}

}  // namespace keel::web
