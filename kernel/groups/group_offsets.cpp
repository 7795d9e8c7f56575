#include "groups/group_offsets.hpp"

#include <future>
#include <keel/crc32c.hpp>
#include <keel/record_batch.hpp>

#include "common/error.hpp"

namespace keel {

namespace {

// Batches stay well under the internal topic's max_batch_bytes (1 MiB).
constexpr size_t kMaxBatchBytes = 512 * 1024;

}  // namespace

GroupOffsetStore::GroupOffsetStore(int32_t partitions, Writer writer, bool flush_on_commit,
                                   const Clock& clock)
    : partitions_(partitions), writer_(std::move(writer)), flush_on_commit_(flush_on_commit), clock_(clock) {
  if (partitions_ <= 0)
    fail(KEEL_ERR_INVALID_ARGUMENT, "the consumer-offsets topic needs at least one partition");
  order_mu_ = std::make_unique<std::mutex[]>(static_cast<size_t>(partitions_));
}

int32_t GroupOffsetStore::partition_for(const std::string& group) const {
  // CRC-32C rather than std::hash: the choice is persisted, so it must not
  // change with the standard library.
  return static_cast<int32_t>(crc32c(group.data(), group.size()) % static_cast<uint32_t>(partitions_));
}

void GroupOffsetStore::apply(const std::string& key, const std::optional<std::string>& value) {
  offsets::Entry e = offsets::decode(key, value);
  std::unique_lock lock(state_mu_);
  switch (e.kind) {
    case offsets::Entry::Kind::Offset:
      if (e.offset) {
        groups_[e.group].offsets[{e.topic, e.partition}] =
            CommittedOffset{e.offset->offset, std::move(e.offset->metadata), e.offset->commit_time_ms};
      } else if (auto it = groups_.find(e.group); it != groups_.end()) {
        it->second.offsets.erase({e.topic, e.partition});
        drop_empty(e.group);
      }
      break;
    case offsets::Entry::Kind::Group:
      if (e.group_metadata && !e.group_metadata->empty()) {
        groups_[e.group].metadata = std::move(*e.group_metadata);
      } else if (auto it = groups_.find(e.group); it != groups_.end()) {
        it->second.metadata.clear();
        drop_empty(e.group);
      }
      break;
    case offsets::Entry::Kind::Unknown:
      break;
  }
}

void GroupOffsetStore::drop_empty(const std::string& group) {
  auto it = groups_.find(group);
  if (it != groups_.end() && it->second.offsets.empty() && it->second.metadata.empty()) groups_.erase(it);
}

uint64_t GroupOffsetStore::mark_dirty(const std::string& group, std::string key,
                                      std::optional<std::string> value) {
  dirty_[std::move(key)] = Dirty{partition_for(group), std::move(value)};
  return ++seq_;
}

uint64_t GroupOffsetStore::stage(const std::string& group, const std::vector<OffsetCommit>& offsets,
                                 int64_t now_ms) {
  uint64_t seq = 0;
  std::unique_lock lock(state_mu_);
  auto& g = groups_[group];
  for (const auto& c : offsets) {
    g.offsets[{c.topic, c.partition}] = CommittedOffset{c.offset, c.metadata, now_ms};
    seq = mark_dirty(group, offsets::offset_key(group, c.topic, c.partition),
                     offsets::offset_value({c.offset, c.metadata, now_ms}));
  }
  return seq;
}

void GroupOffsetStore::commit(const std::string& group, const std::vector<OffsetCommit>& offsets,
                              int64_t now_ms) {
  const uint64_t seq = stage(group, offsets, now_ms);
  if (flush_on_commit_) make_durable(seq);
}

void GroupOffsetStore::commit_async(const std::string& group, const std::vector<OffsetCommit>& offsets,
                                    int64_t now_ms, const Done& done) {
  std::vector<std::pair<std::string, std::optional<std::string>>> records;
  for (const auto& c : offsets) {
    records.emplace_back(offsets::offset_key(group, c.topic, c.partition),
                         offsets::offset_value({c.offset, c.metadata, now_ms}));
  }
  const std::vector<std::string> batches = build_batches(records);
  const int32_t p = partition_for(group);
  // Runs on the writer's thread once the sync is over. In append order per
  // partition, so a group's later commit is applied after its earlier one.
  auto appended_at = std::make_shared<uint64_t>(0);
  auto apply = [this, group, offsets, now_ms, done, appended_at](keel_status status,
                                                                 const std::string& message) {
    {
      std::unique_lock lock(state_mu_);
      if (status == KEEL_OK) {
        auto& g = groups_[group];
        for (const auto& c : offsets) {
          auto removed = removed_at_.find(c.topic);
          if (removed != removed_at_.end() && removed->second > *appended_at) continue;
          g.offsets[{c.topic, c.partition}] = CommittedOffset{c.offset, c.metadata, now_ms};
        }
        drop_empty(group);
      }
      settle_pending(group, offsets);
    }
    done(status, message);
  };
  std::lock_guard order(order_mu_[static_cast<size_t>(p)]);
  {
    // An older value of these keys still waiting for a flush must not be
    // written after this one.
    std::unique_lock lock(state_mu_);
    for (const auto& [key, value] : records) dirty_.erase(key);
    *appended_at = removals_;
    ++pending_async_;
    for (const auto& c : offsets) ++pending_keys_[c.topic][{group, c.partition}];
  }
  try {
    writer_(p, batches, std::move(apply));
  } catch (...) {
    std::unique_lock lock(state_mu_);
    settle_pending(group, offsets);
    throw;
  }
}

void GroupOffsetStore::settle_pending(const std::string& group, const std::vector<OffsetCommit>& offsets) {
  for (const auto& c : offsets) {
    auto topic = pending_keys_.find(c.topic);
    if (topic == pending_keys_.end()) continue;
    auto key = topic->second.find({group, c.partition});
    if (key != topic->second.end() && --key->second == 0) topic->second.erase(key);
    if (topic->second.empty()) pending_keys_.erase(topic);
  }
  if (--pending_async_ == 0) removed_at_.clear();
}

std::optional<CommittedOffset> GroupOffsetStore::fetch(const std::string& group, const std::string& topic,
                                                       int32_t partition) const {
  std::shared_lock lock(state_mu_);
  auto g = groups_.find(group);
  if (g == groups_.end()) return std::nullopt;
  auto it = g->second.offsets.find({topic, partition});
  if (it == g->second.offsets.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> GroupOffsetStore::groups() const {
  std::shared_lock lock(state_mu_);
  std::vector<std::string> out;
  for (const auto& [name, g] : groups_) out.push_back(name);
  return out;
}

std::map<std::pair<std::string, int32_t>, CommittedOffset> GroupOffsetStore::group_offsets(
    const std::string& group) const {
  std::shared_lock lock(state_mu_);
  auto g = groups_.find(group);
  return g == groups_.end() ? std::map<Key, CommittedOffset>{} : g->second.offsets;
}

void GroupOffsetStore::set_group_metadata(const std::string& group, const std::string& metadata,
                                          int64_t now_ms) {
  uint64_t seq = 0;
  {
    std::unique_lock lock(state_mu_);
    if (metadata.empty()) {
      auto it = groups_.find(group);
      if (it == groups_.end() || it->second.metadata.empty()) return;
      it->second.metadata.clear();
      drop_empty(group);
      seq = mark_dirty(group, offsets::group_key(group), std::nullopt);
    } else {
      groups_[group].metadata = metadata;
      seq = mark_dirty(group, offsets::group_key(group), offsets::group_value(metadata, now_ms));
    }
  }
  if (flush_on_commit_) flush_through(seq);
}

std::optional<std::string> GroupOffsetStore::group_metadata(const std::string& group) const {
  std::shared_lock lock(state_mu_);
  auto g = groups_.find(group);
  if (g == groups_.end() || g->second.metadata.empty()) return std::nullopt;
  return g->second.metadata;
}

void GroupOffsetStore::remove_topic(const std::string& topic) {
  uint64_t seq = 0;
  {
    std::unique_lock lock(state_mu_);
    if (pending_async_ > 0) removed_at_[topic] = ++removals_;
    if (auto pending = pending_keys_.find(topic); pending != pending_keys_.end()) {
      for (const auto& [key, count] : pending->second)
        seq = mark_dirty(key.first, offsets::offset_key(key.first, topic, key.second), std::nullopt);
    }
    std::vector<std::string> emptied;
    for (auto& [name, g] : groups_) {
      for (auto it = g.offsets.begin(); it != g.offsets.end();) {
        if (it->first.first != topic) {
          ++it;
          continue;
        }
        seq = mark_dirty(name, offsets::offset_key(name, topic, it->first.second), std::nullopt);
        it = g.offsets.erase(it);
      }
      if (g.offsets.empty() && g.metadata.empty()) emptied.push_back(name);
    }
    for (const auto& name : emptied) groups_.erase(name);
  }
  if (seq > 0) flush_through(seq);
}

bool GroupOffsetStore::remove_group(const std::string& group) {
  uint64_t seq = 0;
  {
    std::unique_lock lock(state_mu_);
    auto it = groups_.find(group);
    if (it == groups_.end()) return false;
    for (const auto& [key, c] : it->second.offsets)
      seq = mark_dirty(group, offsets::offset_key(group, key.first, key.second), std::nullopt);
    seq = mark_dirty(group, offsets::group_key(group), std::nullopt);
    groups_.erase(it);
  }
  flush_through(seq);
  return true;
}

bool GroupOffsetStore::remove_offsets(const std::string& group, const std::string& topic,
                                      const std::vector<int32_t>& partitions) {
  uint64_t seq = 0;
  {
    std::unique_lock lock(state_mu_);
    auto it = groups_.find(group);
    if (it == groups_.end()) return false;
    for (int32_t p : partitions) {
      if (it->second.offsets.erase({topic, p}) == 0) continue;
      seq = mark_dirty(group, offsets::offset_key(group, topic, p), std::nullopt);
    }
    drop_empty(group);
  }
  if (seq > 0) flush_through(seq);
  return true;
}

bool GroupOffsetStore::dirty() const {
  std::shared_lock lock(state_mu_);
  return !dirty_.empty();
}

void GroupOffsetStore::flush() {
  std::lock_guard lock(flush_mu_);
  flush_locked();
}

void GroupOffsetStore::flush_through(uint64_t seq) {
  std::lock_guard lock(flush_mu_);
  if (durable_seq_ >= seq) return;  // a flush that ran meanwhile wrote it
  flush_locked();
}

std::vector<std::string> GroupOffsetStore::build_batches(
    const std::vector<std::pair<std::string, std::optional<std::string>>>& records) const {
  const int64_t now = clock_.now_ms();
  std::vector<std::string> out;
  std::optional<batch::Builder> open;
  size_t open_bytes = 0;
  for (const auto& [key, value] : records) {
    const size_t bytes = key.size() + (value ? value->size() : 0) + 16;
    if (open && open_bytes + bytes > kMaxBatchBytes) {
      out.push_back(open->build());
      open.reset();
      open_bytes = 0;
    }
    if (!open) open.emplace(0);
    open->add(key, value, now);
    open_bytes += bytes;
  }
  if (open) out.push_back(open->build());
  return out;
}

void GroupOffsetStore::write_durably(const std::map<int32_t, std::vector<std::string>>& batches) {
  using Outcome = std::pair<keel_status, std::string>;
  // Every partition's write first, then the waits: their syncs overlap.
  // Shared: a sync may complete after a later write threw and this returned.
  std::vector<std::future<Outcome>> outcomes;
  for (const auto& [p, list] : batches) {
    auto synced = std::make_shared<std::promise<Outcome>>();
    outcomes.push_back(synced->get_future());
    std::lock_guard order(order_mu_[static_cast<size_t>(p)]);
    writer_(p, list, [synced](keel_status s, const std::string& m) { synced->set_value({s, m}); });
  }
  for (auto& o : outcomes) {
    auto [status, message] = o.get();
    if (status != KEEL_OK) fail(status, message);
  }
}

void GroupOffsetStore::flush_locked() {
  std::map<std::string, Dirty> taken;
  uint64_t upto = 0;
  {
    std::unique_lock lock(state_mu_);
    taken.swap(dirty_);
    upto = seq_;
  }
  if (taken.empty()) {
    durable_seq_ = std::max(durable_seq_, upto);
    return;
  }
  try {
    std::map<int32_t, std::vector<std::pair<std::string, std::optional<std::string>>>> by_partition;
    for (const auto& [key, d] : taken) by_partition[d.partition].emplace_back(key, d.value);
    std::map<int32_t, std::vector<std::string>> batches;
    for (const auto& [p, records] : by_partition) batches[p] = build_batches(records);
    write_durably(batches);
  } catch (...) {
    // Back to dirty, unless a newer commit of the same key came meanwhile.
    std::unique_lock lock(state_mu_);
    for (auto& [key, d] : taken) dirty_.try_emplace(key, std::move(d));
    throw;
  }
  durable_seq_ = std::max(durable_seq_, upto);
}

}  // namespace keel
