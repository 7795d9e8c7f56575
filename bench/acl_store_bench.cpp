// Cost of one ACL check of the built-in `acl` authorizer (the design's
// target: <= 1 us with 10,000 bindings), called as the broker calls it:
// string_views in, a bool out, no allocation.
//
// The bindings look like a real cluster's: teams owning topic namespaces
// ("team-07.orders.events-123"), most grants LITERAL per topic and service
// principal, some PREFIXED per team or sub-namespace, a few group grants,
// DENYs and wildcards. The checks mix hits, misses, other principals and
// names no binding names, in a fixed pseudo-random order.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "authorizer/acl/acl_store.hpp"

namespace {

using keel::acl::AclBinding;
using keel::acl::AclStore;
using keel::acl::Operation;
using keel::acl::PatternType;
using keel::acl::Permission;
using keel::acl::ResourceType;

constexpr int kTeams = 20;
constexpr int kServices = 100;
constexpr size_t kQueries = 4096;  // a power of two: the loop masks the index

std::string service(size_t i) { return "User:svc-" + std::to_string(i % kServices); }
std::string team(size_t i) { return "team-" + std::to_string(i % kTeams); }
std::string topic_name(size_t i, const std::string& tail) {
  return team(i) + ".orders.events-" + std::to_string(i) + tail;
}

std::vector<AclBinding> make_bindings(size_t n) {
  std::mt19937 rng(42);
  std::vector<AclBinding> out;
  std::set<AclBinding> seen;  // n distinct bindings, so that the store holds n
  out.reserve(n);
  for (size_t i = 0; out.size() < n; ++i) {
    const size_t kind = rng() % 100;
    AclBinding b{ResourceType::kTopic,
                 topic_name(i, ""),
                 PatternType::kLiteral,
                 service(rng()),
                 "*",
                 rng() % 2 ? Operation::kRead : Operation::kWrite,
                 Permission::kAllow};
    if (kind < 10) {  // a team's or a sub-namespace's prefix
      b.pattern_type = PatternType::kPrefixed;
      b.resource_name = kind < 3 ? team(i) + "." : topic_name(i, "").substr(0, 12 + rng() % 16);
    } else if (kind < 15) {  // a consumer group
      b.resource_type = ResourceType::kGroup;
      b.resource_name = "group-" + std::to_string(i);
    } else if (kind < 18) {  // a DENY from one host
      b.permission = Permission::kDeny;
      b.host = "10.0.6." + std::to_string(rng() % 256);
    }
    if (seen.insert(b).second) out.push_back(std::move(b));
  }
  // Cluster-wide grants a real setup has: everyone may describe every topic.
  if (n >= 10) {
    out.back() = {ResourceType::kTopic, "*", PatternType::kLiteral, "User:*", "*", Operation::kDescribe,
                  Permission::kAllow};
  }
  return out;
}

struct Query {
  std::string principal;
  std::string host;
  std::string name;
  Operation op;
};

std::vector<Query> make_queries(const std::vector<AclBinding>& bindings) {
  std::mt19937 rng(7);
  std::vector<Query> out;
  out.reserve(kQueries);
  for (size_t i = 0; i < kQueries; ++i) {
    const AclBinding& b = bindings[rng() % bindings.size()];
    Query q{b.principal == "User:*" ? service(rng()) : b.principal, "10.0.0." + std::to_string(rng() % 256),
            b.resource_type == ResourceType::kTopic ? b.resource_name : topic_name(rng() % 1000, ""),
            static_cast<Operation>(static_cast<int>(Operation::kRead) + rng() % 6)};
    if (b.pattern_type == PatternType::kPrefixed) q.name += "tail-" + std::to_string(rng() % 100);
    switch (rng() % 4) {
      case 0:  // another principal
        q.principal = service(rng());
        break;
      case 1:  // a topic no one has a grant for
        q.name = "unknown." + std::to_string(rng());
        break;
      default:  // as bound
        break;
    }
    out.push_back(std::move(q));
  }
  return out;
}

// One store and one list of checks per size, shared by the threads of a
// run (as the broker's threads share the authorizer).
struct Fixture {
  explicit Fixture(size_t n) : store("", {}) {
    const std::vector<AclBinding> bindings = make_bindings(n);
    store.add(bindings);
    queries = make_queries(bindings);
  }
  AclStore store;
  std::vector<Query> queries;
};

const Fixture& fixture(size_t n) {
  static std::mutex mu;
  static std::map<size_t, std::unique_ptr<Fixture>> fixtures;
  std::lock_guard lock(mu);
  std::unique_ptr<Fixture>& f = fixtures[n];
  if (!f) f = std::make_unique<Fixture>(n);
  return *f;
}

void BM_AclAuthorize(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<size_t>(state.range(0)));
  // Threads start at different checks, so that they do not run in lockstep.
  size_t i = static_cast<size_t>(state.thread_index()) * 997, checks = 0, allowed = 0;
  for (auto _ : state) {
    const Query& q = f.queries[i++ & (kQueries - 1)];
    const bool ok = f.store.authorize(q.principal, q.host, ResourceType::kTopic, q.name, q.op);
    benchmark::DoNotOptimize(ok);
    allowed += ok ? 1 : 0;
    ++checks;
  }
  state.counters["bindings"] =
      benchmark::Counter(static_cast<double>(f.store.size()), benchmark::Counter::kAvgThreads);
  state.counters["allowed_pct"] =
      benchmark::Counter(100.0 * static_cast<double>(allowed) / static_cast<double>(checks ? checks : 1),
                         benchmark::Counter::kAvgThreads);
  state.SetItemsProcessed(static_cast<int64_t>(checks));
}
BENCHMARK(BM_AclAuthorize)->Arg(10)->Arg(1000)->Arg(10000);

// The same with two threads checking one store at once (the shared lock's
// cost; the machine may have no more cores than that).
BENCHMARK(BM_AclAuthorize)->Arg(10000)->Threads(2)->UseRealTime();

// Long names: 249 bytes (Kafka's longest topic name) under 10,000 PREFIXED
// bindings that share a 200-byte stem with them. The check hashes every byte
// and looks up one prefix per distinct prefix length (201 to 205 here).
void BM_AclAuthorizeLongNames(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<AclBinding> bindings;
  const std::string stem(200, 'x');
  for (size_t i = 0; i < n; ++i) {
    std::string prefix = stem + std::to_string(i * 7919 % 100000);
    bindings.push_back({ResourceType::kTopic, prefix, PatternType::kPrefixed, service(i), "*",
                        Operation::kRead, Permission::kAllow});
  }
  AclStore store("", {});
  store.add(bindings);
  std::vector<std::string> names;
  std::mt19937 rng(3);
  for (size_t i = 0; i < kQueries; ++i) {
    std::string name = stem + std::to_string(rng() % 100000);
    name.resize(249, 'y');
    names.push_back(std::move(name));
  }
  size_t i = 0;
  for (auto _ : state) {
    const std::string& name = names[i & (kQueries - 1)];
    benchmark::DoNotOptimize(
        store.authorize("User:svc-1", "10.0.0.1", ResourceType::kTopic, name, Operation::kRead));
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(i));
}
BENCHMARK(BM_AclAuthorizeLongNames)->Arg(10000);

}  // namespace
