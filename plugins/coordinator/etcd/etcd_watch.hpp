// A watch on a key or a key range of etcd, from a start revision: one
// POST /v3/watch whose answer is a long chunked stream of JSON objects, one
// per line ({"result": WatchResponse}), read on the watch's own thread.
//
// What the callback sees, in order, on that thread:
//   Created   once etcd has set the watch up (revision: the store's revision
//             then; every later change will be delivered).
//   Events    changes in revision order (events written before the watch
//             started are delivered first when start_revision is older).
//   and then at most one of these, after which the watch has ended:
//   Resync    the history from start_revision was compacted away
//             (compact_revision: the oldest revision still there): read the
//             current state again and watch from there.
//   Cancelled etcd cancelled the watch (message: its reason).
//   Error     the connection could not be made, or broke (message names the
//             endpoint).
// Reconnecting is the caller's business, not this class's: to carry on
// without a gap, start a new Watch from the last delivered event's
// mod_revision + 1 (last_revision() + 1); etcd's history makes that exact
// unless it was compacted meanwhile, which the new watch reports as Resync.
// Endpoints are tried in the client's order when connecting.
//
// stop() (and the destructor) may be called from any thread but the
// callback's: it shuts the socket down and joins, without waiting for etcd.
// The callback may call stop() itself (it then does not join).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/etcd/etcd_client.hpp"
#include "coordinator/etcd/etcd_types.hpp"

namespace keel::etcd {

struct WatchOptions {
  std::string key;
  std::string range_end;       // empty: the key alone
  int64_t start_revision = 0;  // 0: from now on
  bool prev_kv = false;        // deliver each event's previous value

  static WatchOptions prefix(const std::string& prefix, int64_t start_revision = 0);
};

struct WatchUpdate {
  enum class Kind { Created, Events, Resync, Cancelled, Error };
  Kind kind = Kind::Events;
  int64_t revision = 0;  // the header revision of etcd's answer
  std::vector<WatchEvent> events;
  int64_t compact_revision = 0;  // Resync
  std::string message;           // Cancelled, Error
};

class Watch {
 public:
  using Callback = std::function<void(const WatchUpdate&)>;

  // Starts the watch's thread; the client only lends its endpoints and
  // default timeout (used to connect) and may go away afterwards.
  Watch(const EtcdClient& client, WatchOptions options, Callback callback);
  ~Watch();
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  void stop();
  // The mod_revision of the last event delivered (0 before any).
  int64_t last_revision() const { return last_revision_.load(); }

 private:
  void run();
  // Reads the stream until the watch ends.
  void read_stream(const std::string& endpoint);
  // One line of the stream; false once the watch has ended.
  bool handle_line(const std::string& endpoint, const std::string& line);
  void deliver_error(const std::string& endpoint, const std::string& detail);

  std::vector<Endpoint> endpoints_;
  size_t first_endpoint_;
  std::chrono::milliseconds connect_timeout_;
  WatchOptions options_;
  Callback callback_;
  std::atomic<int64_t> last_revision_{0};

  // stop() and the watch thread meet here: stopping_ is set, and the
  // connection in use (owned by the watch thread, replaced only under the
  // mutex) interrupted.
  std::mutex mu_;
  bool stopping_ = false;
  std::unique_ptr<HttpConnection> conn_;

  std::thread thread_;  // last: started once the rest is in place
};

}  // namespace keel::etcd
