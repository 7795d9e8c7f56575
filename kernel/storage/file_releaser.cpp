#include "storage/file_releaser.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <keel/thread_name.hpp>
#include <mutex>
#include <thread>

namespace keel::file_releaser {
namespace {

void cut_and_close(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) == 0) {
    for (int64_t size = st.st_size; size > 0;) {
      size = size > kChunkBytes ? size - kChunkBytes : 0;
      // On failure the close below frees the rest at once.
      if (::ftruncate(fd, size) != 0) break;
    }
  }
  ::close(fd);
}

// One per process, started with the first large file. Its destructor (at
// exit) finishes the queue, so no block stays held by a lost descriptor.
class Releaser {
 public:
  ~Releaser() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void add(int fd) {
    {
      std::lock_guard lock(mu_);
      if (!thread_.joinable())
        thread_ = std::thread([this] {
          name_this_thread("file-releaser");
          run();
        });
      queue_.push_back(fd);
      ++added_;
    }
    wake_.notify_all();
  }

  void drain() {
    std::unique_lock lock(mu_);
    const uint64_t target = added_;
    done_cv_.wait(lock, [&] { return released_ >= target; });
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      const int fd = queue_.front();
      queue_.pop_front();
      lock.unlock();
      cut_and_close(fd);
      lock.lock();
      ++released_;
      done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_cv_;
  std::deque<int> queue_;  // guarded by mu_
  uint64_t added_ = 0;     // guarded by mu_
  uint64_t released_ = 0;  // guarded by mu_
  bool stop_ = false;      // guarded by mu_
  std::thread thread_;     // started under mu_
};

Releaser& releaser() {
  static Releaser r;
  return r;
}

}  // namespace

void release(int fd) {
  if (fd < 0) return;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size <= kChunkBytes) {
    ::close(fd);
    return;
  }
  releaser().add(fd);
}

int64_t remove(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st {};
  const int64_t size = ::fstat(fd, &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
  if (::unlink(path.c_str()) != 0) {
    ::close(fd);
    return -1;
  }
  release(fd);
  return size;
}

void drain() { releaser().drain(); }

}  // namespace keel::file_releaser
