#include "producers/producer_snapshot.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <keel/crc32c.hpp>

#include "common/error.hpp"
#include "common/file_util.hpp"

namespace fs = std::filesystem;

namespace keel {
namespace {

constexpr char kMagic[4] = {'K', 'P', 'R', 'S'};
constexpr uint16_t kSnapshotVersion = 1;
constexpr size_t kHeaderSize = 4 + 2 + 2 + 4 + 8 + 4;  // up to and including the count
constexpr size_t kProducerSize = 8 + 2 + 1 + 1 + 8;
constexpr size_t kBatchSize = 4 + 4 + 8 + 8;
constexpr const char* kSuffix = ".snapshot";

void put(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get(const std::string& in, size_t& pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[pos++]);
  return v;
}

// CRC-32C of every byte but the CRC field's own (bytes 8..11).
uint32_t checksum(const std::string& s) { return crc32c(s.data() + 12, s.size() - 12, crc32c(s.data(), 8)); }

}  // namespace

std::string producer_snapshot_path(const std::string& dir, int64_t offset) {
  char name[32];
  std::snprintf(name, sizeof name, "%020lld", static_cast<long long>(offset));
  return dir + "/" + name + kSuffix;
}

std::vector<int64_t> list_producer_snapshots(const std::string& dir) {
  std::vector<int64_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() != 20 + std::char_traits<char>::length(kSuffix) || !n.ends_with(kSuffix)) continue;
    if (!std::all_of(n.begin(), n.begin() + 20, [](char c) { return c >= '0' && c <= '9'; })) continue;
    out.push_back(std::stoll(n.substr(0, 20)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string encode_producer_snapshot(int64_t offset, const ProducerState::Producers& producers) {
  std::string out(kMagic, 4);
  put(out, kSnapshotVersion, 2);
  put(out, 0, 2);
  put(out, 0, 4);  // CRC, filled in below
  put(out, static_cast<uint64_t>(offset), 8);
  put(out, producers.size(), 4);
  for (const auto& [id, p] : producers) {
    put(out, static_cast<uint64_t>(id), 8);
    put(out, static_cast<uint16_t>(p.epoch), 2);
    put(out, p.batches.size(), 1);
    put(out, 0, 1);
    put(out, static_cast<uint64_t>(p.last_timestamp), 8);
    for (const auto& b : p.batches) {
      put(out, static_cast<uint32_t>(b.first_seq), 4);
      put(out, static_cast<uint32_t>(b.last_seq), 4);
      put(out, static_cast<uint64_t>(b.first_offset), 8);
      put(out, static_cast<uint64_t>(b.last_offset), 8);
    }
  }
  const uint32_t crc = checksum(out);
  std::string c;
  put(c, crc, 4);
  out.replace(8, 4, c);
  return out;
}

std::optional<ProducerState::Producers> decode_producer_snapshot(const std::string& in, int64_t offset,
                                                                 std::string* why) {
  if (in.size() < kHeaderSize || in.compare(0, 4, kMagic, 4) != 0) {
    *why = "not a producer snapshot (" + std::to_string(in.size()) + " bytes, bad magic or too short)";
    return std::nullopt;
  }
  size_t pos = 4;
  const auto version = get(in, pos, 2);
  if (version != kSnapshotVersion) {
    *why = "snapshot version " + std::to_string(version) + " is unknown to this broker (it reads version " +
           std::to_string(kSnapshotVersion) + ")";
    return std::nullopt;
  }
  pos += 2;
  const auto crc = static_cast<uint32_t>(get(in, pos, 4));
  if (checksum(in) != crc) {
    *why = "CRC mismatch: the file is damaged or was cut short";
    return std::nullopt;
  }
  const auto stored_offset = static_cast<int64_t>(get(in, pos, 8));
  if (stored_offset != offset) {
    *why = "it holds offset " + std::to_string(stored_offset) + ", its name says " + std::to_string(offset);
    return std::nullopt;
  }
  const auto count = get(in, pos, 4);
  ProducerState::Producers out;
  for (uint64_t i = 0; i < count; ++i) {
    if (in.size() - pos < kProducerSize) {
      *why = "producer #" + std::to_string(i) + " runs past the end";
      return std::nullopt;
    }
    const auto id = static_cast<int64_t>(get(in, pos, 8));
    ProducerState::Producer p;
    p.epoch = static_cast<int16_t>(get(in, pos, 2));
    const auto batches = get(in, pos, 1);
    pos += 1;
    p.last_timestamp = static_cast<int64_t>(get(in, pos, 8));
    if (batches > ProducerState::kBatchesPerProducer || in.size() - pos < batches * kBatchSize) {
      *why =
          "producer " + std::to_string(id) + " has " + std::to_string(batches) + " batches, too many or cut";
      return std::nullopt;
    }
    for (uint64_t b = 0; b < batches; ++b) {
      ProducerState::BatchRecord r;
      r.first_seq = static_cast<int32_t>(get(in, pos, 4));
      r.last_seq = static_cast<int32_t>(get(in, pos, 4));
      r.first_offset = static_cast<int64_t>(get(in, pos, 8));
      r.last_offset = static_cast<int64_t>(get(in, pos, 8));
      p.batches.push_back(r);
    }
    out.emplace(id, std::move(p));
  }
  if (pos != in.size()) {
    *why = std::to_string(in.size() - pos) + " bytes after the last producer";
    return std::nullopt;
  }
  return out;
}

void write_producer_snapshot(const std::string& dir, int64_t offset,
                             const ProducerState::Producers& producers) {
  store_producer_snapshot(dir, offset, encode_producer_snapshot(offset, producers));
}

void store_producer_snapshot(const std::string& dir, int64_t offset, const std::string& encoded) {
  write_file_atomically(producer_snapshot_path(dir, offset), encoded);
  auto all = list_producer_snapshots(dir);
  // Keep this one and the newest before it.
  std::vector<int64_t> older;
  for (int64_t o : all) {
    if (o < offset) older.push_back(o);
  }
  for (size_t i = 0; i + 1 < older.size(); ++i) {
    std::error_code ec;
    fs::remove(producer_snapshot_path(dir, older[i]), ec);
  }
}

}  // namespace keel
