#include "replication/leader_epoch_cache.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "common/file_util.hpp"

namespace keel {

namespace {

constexpr int kFileVersion = 0;

std::string encode(const std::vector<EpochEntry>& entries) {
  std::string out = std::to_string(kFileVersion) + "\n" + std::to_string(entries.size()) + "\n";
  for (const auto& e : entries) out += std::to_string(e.epoch) + " " + std::to_string(e.start_offset) + "\n";
  return out;
}

// Parses a checkpoint into *out; false with why in *problem.
bool decode(const std::string& text, std::vector<EpochEntry>* out, std::string* problem) {
  std::istringstream in(text);
  std::string line;
  const auto bad = [&](const std::string& why) {
    *problem = why;
    return false;
  };
  if (!std::getline(in, line) || line != std::to_string(kFileVersion)) {
    return bad("its first line is '" + line + "', not the version " + std::to_string(kFileVersion));
  }
  long long count = -1;
  if (!std::getline(in, line) || !(std::istringstream(line) >> count) || count < 0) {
    return bad("its second line is '" + line + "', not a count of entries");
  }
  for (long long i = 0; i < count; ++i) {
    EpochEntry e;
    std::string rest;
    if (!std::getline(in, line)) {
      return bad("it holds " + std::to_string(i) + " entries, its count line says " + std::to_string(count));
    }
    std::istringstream fields(line);
    if (!(fields >> e.epoch >> e.start_offset) || (fields >> rest) || e.epoch < 0 || e.start_offset < 0) {
      return bad("entry line " + std::to_string(i + 1) + " is '" + line + "', not 'epoch start_offset'");
    }
    if (!out->empty() && (e.epoch <= out->back().epoch || e.start_offset < out->back().start_offset)) {
      return bad("entry line " + std::to_string(i + 1) + " ('" + line + "') does not follow the one before");
    }
    out->push_back(e);
  }
  while (std::getline(in, line)) {
    if (!line.empty())
      return bad("it goes on after its " + std::to_string(count) + " entries: '" + line + "'");
  }
  return true;
}

}  // namespace

EpochEndOffset end_offset_for(const std::vector<EpochEntry>& entries, int32_t requested, int64_t log_end) {
  if (requested < 0 || entries.empty()) return {};
  if (requested == entries.back().epoch) return {requested, log_end};
  // The first entry with an epoch above the requested one.
  auto higher = std::upper_bound(entries.begin(), entries.end(), requested,
                                 [](int32_t epoch, const EpochEntry& e) { return epoch < e.epoch; });
  if (higher == entries.end() || higher == entries.begin()) return {};  // after the latest, before the first
  return {std::prev(higher)->epoch, higher->start_offset};
}

LeaderEpochCache::LeaderEpochCache(std::string dir) : dir_(std::move(dir)) {}

bool LeaderEpochCache::load(std::string* problem) {
  std::lock_guard lock(mu_);
  set_entries_locked({});
  std::ifstream in(path(), std::ios::binary);
  if (!in) {
    *problem = "it is missing";
    return false;
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<EpochEntry> read;
  if (!decode(text, &read, problem)) return false;
  set_entries_locked(std::move(read));
  return true;
}

void LeaderEpochCache::save() {
  std::lock_guard lock(mu_);
  write_file_atomically(path(), encode(entries_));
}

void LeaderEpochCache::commit_locked(std::vector<EpochEntry> next) {
  if (next == entries_) return;
  write_file_atomically(path(), encode(next));
  set_entries_locked(std::move(next));
}

void LeaderEpochCache::set_entries_locked(std::vector<EpochEntry> next) {
  entries_ = std::move(next);
  latest_.store(entries_.empty() ? kUndefinedEpoch : entries_.back().epoch, std::memory_order_release);
}

bool LeaderEpochCache::assign(int32_t epoch, int64_t start_offset, bool persist) {
  std::lock_guard lock(mu_);
  if (epoch < 0 || start_offset < 0) return false;
  if (!entries_.empty() && (epoch <= entries_.back().epoch || start_offset < entries_.back().start_offset)) {
    return false;
  }
  std::vector<EpochEntry> next = entries_;
  next.push_back({epoch, start_offset});
  if (persist) {
    commit_locked(std::move(next));
  } else {
    set_entries_locked(std::move(next));
  }
  return true;
}

EpochEndOffset LeaderEpochCache::end_offset_for(int32_t requested, int64_t log_end) const {
  std::lock_guard lock(mu_);
  return keel::end_offset_for(entries_, requested, log_end);
}

void LeaderEpochCache::truncate_from_end(int64_t offset) {
  std::lock_guard lock(mu_);
  std::vector<EpochEntry> next = entries_;
  std::erase_if(next, [offset](const EpochEntry& e) { return e.start_offset >= offset; });
  commit_locked(std::move(next));
}

void LeaderEpochCache::truncate_from_start(int64_t offset) {
  std::lock_guard lock(mu_);
  // The last entry starting at or below `offset` covers it; those before
  // it describe records that are gone.
  auto covering = std::upper_bound(entries_.begin(), entries_.end(), offset,
                                   [](int64_t off, const EpochEntry& e) { return off < e.start_offset; });
  if (covering == entries_.begin()) return;  // every epoch starts at or after the new start
  std::vector<EpochEntry> next(std::prev(covering), entries_.end());
  next.front().start_offset = offset;
  commit_locked(std::move(next));
}

std::vector<EpochEntry> LeaderEpochCache::entries() const {
  std::lock_guard lock(mu_);
  return entries_;
}

}  // namespace keel
