#include "replication/replica_wire.hpp"

#include <algorithm>
#include <keel/record_batch.hpp>

#include "common/error.hpp"

namespace keel {
namespace {

class Writer {
 public:
  template <class T>
  void put(T v) {
    uint8_t b[sizeof(T)];
    batch::detail::store_be(b, v);
    out_.append(reinterpret_cast<const char*>(b), sizeof b);
  }
  void string(const std::string& s) {
    // Topic names are short; only a message could be longer, and its end
    // is worth less than a frame that decodes.
    const size_t n = std::min<size_t>(s.size(), 32767);
    put<int16_t>(static_cast<int16_t>(n));
    out_.append(s, 0, n);
  }
  void bytes(const std::string& s) {
    put<int32_t>(static_cast<int32_t>(s.size()));
    out_ += s;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(const std::string& in) : in_(in) {}
  template <class T>
  T get(const char* field) {
    need(sizeof(T), field);
    T v = batch::detail::load_be<T>(reinterpret_cast<const uint8_t*>(in_.data()) + pos_);
    pos_ += sizeof(T);
    return v;
  }
  std::string string(const char* field) { return take(get<int16_t>(field), field); }
  std::string bytes(const char* field) { return take(get<int32_t>(field), field); }
  int32_t count(const char* field) {
    const auto n = get<int32_t>(field);
    if (n < 0 || static_cast<size_t>(n) > in_.size() - pos_) bad(field, "a count of " + std::to_string(n));
    return n;
  }
  void end() {
    if (pos_ != in_.size()) bad("the end", std::to_string(in_.size() - pos_) + " bytes left over");
  }
  [[noreturn]] void bad(const char* field, const std::string& why) {
    fail(KEEL_ERR_CORRUPT, std::string("malformed replication frame at byte ") + std::to_string(pos_) + " (" +
                               field + "): " + why +
                               "; both brokers must run the same Keel replication protocol");
  }

 private:
  std::string take(int64_t n, const char* field) {
    if (n < 0) bad(field, "a negative length");
    need(static_cast<size_t>(n), field);
    std::string s = in_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }
  void need(size_t n, const char* field) {
    if (in_.size() - pos_ < n) bad(field, "the frame ends first");
  }
  const std::string& in_;
  size_t pos_ = 0;
};

void check_version(Reader& r) {
  const auto v = r.get<int16_t>("version");
  if (v != kReplicaProtocolVersion) {
    fail(KEEL_ERR_UNSUPPORTED, "replication protocol version " + std::to_string(v) + " (this broker speaks " +
                                   std::to_string(kReplicaProtocolVersion) +
                                   "): upgrade every broker of the cluster to the same Keel release");
  }
}

}  // namespace

const char* replica_error_name(ReplicaError e) {
  switch (e) {
    case ReplicaError::kNone:
      return "none";
    case ReplicaError::kNotLeader:
      return "not_leader";
    case ReplicaError::kFencedLeaderEpoch:
      return "fenced_leader_epoch";
    case ReplicaError::kUnknownLeaderEpoch:
      return "unknown_leader_epoch";
    case ReplicaError::kOffsetOutOfRange:
      return "offset_out_of_range";
    case ReplicaError::kStorage:
      return "storage";
    case ReplicaError::kNotReplica:
      return "not_replica";
  }
  return "unknown";
}

std::string encode(const ReplicaFetchRequest& r) {
  Writer w;
  w.put<int16_t>(kReplicaProtocolVersion);
  w.put<int32_t>(r.broker_id);
  w.put<int32_t>(r.max_wait_ms);
  w.put<int32_t>(static_cast<int32_t>(r.partitions.size()));
  for (const auto& p : r.partitions) {
    w.string(p.topic);
    w.put<int32_t>(p.partition);
    w.put<int32_t>(p.current_leader_epoch);
    w.put<int64_t>(p.fetch_offset);
    w.put<int32_t>(p.last_fetched_epoch);
    w.put<int32_t>(p.max_bytes);
    w.put<int64_t>(p.high_watermark);
  }
  return w.take();
}

ReplicaFetchRequest decode_fetch_request(const std::string& payload) {
  Reader r(payload);
  check_version(r);
  ReplicaFetchRequest out;
  out.broker_id = r.get<int32_t>("broker_id");
  out.max_wait_ms = r.get<int32_t>("max_wait_ms");
  const int32_t n = r.count("partitions");
  for (int32_t i = 0; i < n; ++i) {
    ReplicaFetchPartition p;
    p.topic = r.string("topic");
    p.partition = r.get<int32_t>("partition");
    p.current_leader_epoch = r.get<int32_t>("current_leader_epoch");
    p.fetch_offset = r.get<int64_t>("fetch_offset");
    p.last_fetched_epoch = r.get<int32_t>("last_fetched_epoch");
    p.max_bytes = r.get<int32_t>("max_bytes");
    p.high_watermark = r.get<int64_t>("high_watermark");
    out.partitions.push_back(std::move(p));
  }
  r.end();
  return out;
}

std::string encode(const ReplicaFetchResponse& r) {
  Writer w;
  w.put<int16_t>(kReplicaProtocolVersion);
  w.string(r.error);
  w.put<int32_t>(static_cast<int32_t>(r.partitions.size()));
  for (const auto& p : r.partitions) {
    w.string(p.topic);
    w.put<int32_t>(p.partition);
    w.put<int16_t>(static_cast<int16_t>(p.error));
    w.string(p.message);
    w.put<int64_t>(p.high_watermark);
    w.put<int64_t>(p.log_start_offset);
    w.put<int64_t>(p.log_end_offset);
    w.put<int32_t>(p.diverging_epoch);
    w.put<int64_t>(p.diverging_end_offset);
    w.bytes(p.records);
  }
  return w.take();
}

ReplicaFetchResponse decode_fetch_response(const std::string& payload) {
  Reader r(payload);
  check_version(r);
  ReplicaFetchResponse out;
  out.error = r.string("error");
  const int32_t n = r.count("partitions");
  for (int32_t i = 0; i < n; ++i) {
    ReplicaFetchAnswer p;
    p.topic = r.string("topic");
    p.partition = r.get<int32_t>("partition");
    const auto e = r.get<int16_t>("error");
    if (e < 0 || e > static_cast<int16_t>(ReplicaError::kNotReplica)) {
      r.bad("error", "unknown partition error " + std::to_string(e));
    }
    p.error = static_cast<ReplicaError>(e);
    p.message = r.string("message");
    p.high_watermark = r.get<int64_t>("high_watermark");
    p.log_start_offset = r.get<int64_t>("log_start_offset");
    p.log_end_offset = r.get<int64_t>("log_end_offset");
    p.diverging_epoch = r.get<int32_t>("diverging_epoch");
    p.diverging_end_offset = r.get<int64_t>("diverging_end_offset");
    p.records = r.bytes("records");
    out.partitions.push_back(std::move(p));
  }
  r.end();
  return out;
}

}  // namespace keel
