// A unique directory under the system temp dir, removed with everything in
// it when the object goes out of scope, so that tests never share state.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>

namespace keel::test {

class TempDir {
 public:
  explicit TempDir(const std::string& tag = "keel-test") {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    const auto base = std::filesystem::temp_directory_path();
    // pid + counter + random: unique across parallel test processes (ctest
    // runs each test in its own process) and across runs.
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto candidate = base / (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
                               "-" + std::to_string(rd()));
      std::error_code ec;
      if (std::filesystem::create_directory(candidate, ec)) {
        path_ = candidate;
        return;
      }
    }
    throw std::runtime_error("cannot create a temp directory under " + base.string());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  // A path inside the directory (not created).
  std::string sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace keel::test
