// The broker's side of consumer-group offsets: the internal compacted topic
// __consumer_offsets that holds them, loading it at start-up, writing the
// store's batches into it, and the one-time migration from the journal
// file that held offsets before.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <keel/codec.hpp>
#include <keel/record_batch.hpp>

#include "broker.hpp"
#include "common/error.hpp"
#include "common/file_util.hpp"
#include "groups/legacy_offsets_journal.hpp"
#include "groups/offset_records.hpp"
#include "groups/offsets_topic_config.hpp"

namespace keel {

namespace fs = std::filesystem;

bool Broker::is_internal(const std::string& topic) { return topic == offsets::kTopic; }

void Broker::open_offsets() {
  const OffsetsConfig& oc = config_.offsets;
  auto topic = find_topic(offsets::kTopic);
  if (!topic) {
    topic = create_configured_topic(offsets::topic_config(config_), oc.topic_partitions,
                                    offsets::topic_settings(oc));
  }
  offsets_ = std::make_unique<GroupOffsetStore>(
      topic->partition_count(),
      [this](int32_t p, const std::vector<std::string>& batches, GroupOffsetStore::Done done) {
        write_offsets(p, batches, std::move(done));
      },
      oc.flush_on_commit, *clock_);
  load_offsets(*topic);
  migrate_legacy_offsets();
}

namespace {

// Where a batch of the log lies, for a message: its segment file and byte
// position, found from the base offset in its header. Best effort: the
// offset itself may be what is damaged.
std::string batch_location(const PartitionLog& log, const uint8_t* b, size_t len) {
  if (len < 8) return "a batch of " + std::to_string(len) + " bytes";
  const auto base = batch::detail::load_be<int64_t>(b);
  std::string out = "the batch at offset " + std::to_string(base);
  try {
    const ReadResult r = log.read(base, 1);
    if (r.segment)
      out += " (segment '" + r.segment->path() + "', position " + std::to_string(r.position) + ")";
  } catch (const std::exception&) {
    // No position then; the offset still tells where to look.
  }
  return out;
}

}  // namespace

// A damaged record or batch of __consumer_offsets is skipped with a warning
// rather than stop the broker: the commits it held are lost, and each
// group/partition falls back to its newest commit in an intact batch (the
// log is applied in order, so later good commits still win). Stopping the
// broker instead would keep every group from committing until an operator
// repaired the file by hand.
void Broker::reload_offsets_partition(int32_t partition) {
  auto topic = find_topic(offsets::kTopic);
  if (!topic || !offsets_) return;
  try {
    // Replicated records of the groups this broker now coordinates: applied
    // in log order, so the newest commit of each group/partition wins.
    load_offsets(*topic, partition);
  } catch (const Error& e) {
    spdlog::error("{}-{}: reloading committed offsets as its new leader failed: {}", offsets::kTopic,
                  partition, e.what());
  }
}

void Broker::load_offsets(Topic& topic, int32_t only) {
  const int64_t t0 = monotonic_ns();
  int64_t records = 0;
  int64_t bytes = 0;
  int64_t skipped_batches = 0;
  int64_t skipped_records = 0;
  for (int32_t p = 0; p < topic.partition_count(); ++p) {
    if (only >= 0 && p != only) continue;
    auto log = topic.partition(p);
    auto visit = [&](const uint8_t* b, size_t len) {
      bytes += static_cast<int64_t>(len);
      std::vector<batch::Record> batch_records;
      try {
        const auto h = batch::parse_header(b, len);
        if (h && h->control()) return true;
        batch_records = codec::decode_batch(b, len);  // checks the CRC first
      } catch (const std::exception& e) {
        ++skipped_batches;
        spdlog::warn(
            "{}: skipping {}: {}; the offsets committed in it are lost, and each group/partition it held "
            "falls back to its newest commit elsewhere in the topic (or to the consumer's "
            "auto.offset.reset); check the disk that holds '{}'",
            log->name(), batch_location(*log, b, len), e.what(), log->dir());
        return true;
      }
      for (const auto& rec : batch_records) {
        if (!rec.key) continue;
        try {
          offsets_->apply(*rec.key, rec.value);
        } catch (const Error& e) {
          // Written by a newer or broken version: keep the rest.
          ++skipped_records;
          spdlog::warn("{}: skipping the record at offset {} of {}: {}", log->name(), rec.offset,
                       batch_location(*log, b, len), e.what());
        }
        ++records;
      }
      return true;
    };
    try {
      // Damage the segment walk finds (a CRC that fails, an unreadable
      // header) is quarantined and logged by the segment; here it costs the
      // commits in it, as for an undecodable batch above.
      log->for_each_batch(visit, [&](const DamagedRange& d) {
        ++skipped_batches;
        spdlog::warn(
            "{}: skipping damaged data, {}; the offsets committed in it are lost, and each group/partition "
            "it held falls back to its newest commit elsewhere in the topic (or to the consumer's "
            "auto.offset.reset); check the disk that holds '{}'",
            log->name(), d.describe(), log->dir());
      });
    } catch (const Error& e) {
      fail(e.code(), "cannot load the committed consumer offsets from " + log->name() + ": " + e.what() +
                         "; the broker needs them to start: move the damaged segment file out of '" +
                         log->dir() + "' (the offsets in it are lost) or restore it from a backup");
    }
  }
  spdlog::info("loaded consumer offsets: {} group(s) from {} record(s) ({} bytes) of '{}'{} in {} ms",
               offsets_->groups().size(), records, bytes, offsets::kTopic,
               only >= 0 ? " partition " + std::to_string(only) : std::string(),
               (monotonic_ns() - t0) / 1000000);
  if (skipped_batches + skipped_records > 0) {
    spdlog::warn(
        "'{}': skipped {} damaged batch(es) and {} undecodable record(s) while loading; see the "
        "warnings above for their files and offsets",
        offsets::kTopic, skipped_batches, skipped_records);
  }
}

// Appends on the calling thread and hands the wait for the sync to the
// flusher, which answers waiters of one partition in append order and runs
// `done` on its thread (or on this one if it is stopping).
void Broker::write_offsets(int32_t p, const std::vector<std::string>& batches, GroupOffsetStore::Done done) {
  auto topic = find_topic(offsets::kTopic);
  if (!topic)
    fail(KEEL_ERR_UNAVAILABLE, std::string("the internal topic ") + offsets::kTopic + " is not open");
  auto log = topic->partition(p);
  if (!log) fail(KEEL_ERR_INTERNAL, std::string(offsets::kTopic) + " has no partition " + std::to_string(p));
  int64_t end = 0;
  // Stamped like produced batches; -1 (left as built) when this broker no
  // longer leads the partition.
  const int32_t epoch = leader_epoch_of(offsets::kTopic, p);
  for (const auto& b : batches) {
    AppendResult r = log->append(reinterpret_cast<const uint8_t*>(b.data()), b.size(), epoch);
    end = r.last_offset + 1;
  }
  await_durable(
      *topic, log, end, [name = log->name(), done = std::move(done)](keel_status s, const std::string& m) {
        if (s == KEEL_OK) return done(s, m);
        done(s, name + ": syncing committed offsets failed: " + m + "; they are not committed, commit again");
      });
}

void Broker::migrate_legacy_offsets() {
  const std::string path = config_.data_dir + "/" + kLegacyOffsetsJournal;
  if (!fs::exists(path)) return;
  const LegacyOffsets legacy = read_legacy_offsets_journal(path);
  std::map<std::string, std::vector<OffsetCommit>> by_group;
  for (const auto& [key, c] : legacy) {
    const auto& [group, topic, partition] = key;
    // Already there: an earlier migration stopped before removing the file.
    if (offsets_->fetch(group, topic, partition)) continue;
    by_group[group].push_back(OffsetCommit{topic, partition, c.offset, c.metadata});
  }
  for (const auto& [group, commits] : by_group) offsets_->commit(group, commits, clock_->now_ms());
  offsets_->flush();
  fs::remove(path);
  fsync_dir(config_.data_dir);
  spdlog::info(
      "migrated {} committed offset(s) of {} group(s) from '{}' into the internal topic '{}'; the file "
      "was removed",
      legacy.size(), by_group.size(), path, offsets::kTopic);
}

void Broker::flush_offsets() {
  if (offsets_) offsets_->flush();
}

}  // namespace keel
