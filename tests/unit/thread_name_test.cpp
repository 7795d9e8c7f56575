// keel/thread_name.hpp: a thread's name is what /proc (and so top -H, ps -L,
// perf) shows for it, cut to Linux's 15 characters.
#include <keel/thread_name.hpp>

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

namespace {

std::string name_in_proc_of_this_thread() {
  std::ifstream f("/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/comm");
  std::string name;
  std::getline(f, name);
  return name;
}

TEST(ThreadName, ShowsInProc) {
  std::string seen;
  std::thread t([&] {
    keel::name_this_thread("flusher");
    seen = name_in_proc_of_this_thread();
  });
  t.join();
  EXPECT_EQ(seen, "flusher");
}

TEST(ThreadName, LongNamesAreCutToFifteenCharacters) {
  std::string seen;
  std::thread t([&] {
    keel::name_this_thread("repl-fetch-123456789");
    seen = name_in_proc_of_this_thread();
  });
  t.join();
  EXPECT_EQ(seen, "repl-fetch-1234");
}

}  // namespace
