// keel/thread_name.hpp: a thread's name is what /proc (and so top -H, ps -L,
// perf) shows for it, cut to Linux's 15 characters.
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <keel/thread_name.hpp>
#include <string>
#include <thread>

namespace {

std::string name_in_proc_of_this_thread() {
  std::ifstream f("/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/comm");
  std::string name;
  std::getline(f, name);
  return name;
}

// What /proc shows for a new thread after it names itself `name`.
std::string seen_after_naming(const std::string& name) {
  std::string seen;
  std::thread t([&] {
    keel::name_this_thread(name);
    seen = name_in_proc_of_this_thread();
  });
  t.join();
  return seen;
}

TEST(ThreadName, ShowsInProc) { EXPECT_EQ(seen_after_naming("flusher"), "flusher"); }

TEST(ThreadName, LongNamesAreCutToFifteenCharacters) {
  EXPECT_EQ(seen_after_naming("repl-fetch-123456789"), "repl-fetch-1234");
}

}  // namespace
