#include "coordinator/etcd/etcd_types.hpp"

#include <utility>

namespace keel::etcd {

std::string prefix_range_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    const auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

Compare Compare::version(std::string key, Result result, int64_t version) {
  return Compare{std::move(key), Target::Version, result, version, {}};
}

Compare Compare::create_revision(std::string key, Result result, int64_t revision) {
  return Compare{std::move(key), Target::Create, result, revision, {}};
}

Compare Compare::mod_revision(std::string key, Result result, int64_t revision) {
  return Compare{std::move(key), Target::Mod, result, revision, {}};
}

Compare Compare::value_of(std::string key, Result result, std::string value) {
  return Compare{std::move(key), Target::Value, result, 0, std::move(value)};
}

Op Op::range(std::string key) { return Op{Kind::Range, std::move(key), {}, {}, 0}; }

Op Op::range_prefix(const std::string& prefix) {
  return Op{Kind::Range, prefix, prefix_range_end(prefix), {}, 0};
}

Op Op::put(std::string key, std::string value, int64_t lease) {
  return Op{Kind::Put, std::move(key), {}, std::move(value), lease};
}

Op Op::delete_key(std::string key) { return Op{Kind::Delete, std::move(key), {}, {}, 0}; }

Op Op::delete_prefix(const std::string& prefix) {
  return Op{Kind::Delete, prefix, prefix_range_end(prefix), {}, 0};
}

}  // namespace keel::etcd
