// What ReplicaManager::start() publishes as this broker's "replication"
// listener: the port it bound, or [cluster] replication_advertised_port when
// set (a proxy or a port forward in front of the listener), on a real
// loopback listener.
#include <gtest/gtest.h>

#include "cluster/cluster_view.hpp"
#include "common/clock.hpp"
#include "config/config.hpp"
#include "replication/frame_socket.hpp"
#include "replication/replica_manager.hpp"

namespace keel {
namespace {

// A broker with no partition: nothing to lead or follow.
class NoPartitions final : public ReplicaHost {
 public:
  std::shared_ptr<PartitionLog> replica_log(const std::string&, int32_t) override { return nullptr; }
  int32_t min_insync_replicas(const std::string&) override { return 1; }
  void replica_appended(const std::shared_ptr<PartitionLog>&, int64_t) override {}
  void propose_isr(const std::string&, int32_t, int32_t, const std::vector<int32_t>&,
                   const std::vector<int32_t>&) override {}
  void leadership_changed(const std::string&, int32_t, bool) override {}
};

struct Started {
  explicit Started(int32_t advertised_port) : view(cluster()) {
    ReplicationConfig rc;
    rc.self = 1;
    rc.listen_host = "127.0.0.1";
    rc.listen_port = 0;
    rc.advertised_port = advertised_port;
    manager = std::make_unique<ReplicaManager>(rc, view, host, clock);
    manager->start();
  }
  ~Started() { manager->stop(); }
  static ClusterConfig cluster() {
    ClusterConfig c;
    c.enabled = true;
    c.broker_id = 1;
    return c;
  }
  HostPort advertised() const { return view.self_record().listeners.at("replication"); }

  ClusterView view;
  NoPartitions host;
  SystemClock clock;
  std::unique_ptr<ReplicaManager> manager;
};

TEST(ReplicaManagerListener, AdvertisesTheBoundPortByDefault) {
  Started s(0);
  const HostPort hp = s.advertised();
  EXPECT_EQ(hp.host, "127.0.0.1");
  ASSERT_GT(hp.port, 0);
  // It is the listener: a connection there is accepted.
  EXPECT_TRUE(FrameSocket::connect(hp.host, hp.port, 5000).is_open());
}

TEST(ReplicaManagerListener, AdvertisesTheConfiguredPortInsteadOfTheBoundOne) {
  Started bound(0);
  Started proxied(bound.advertised().port);  // a port surely not its own: the other's
  const HostPort hp = proxied.advertised();
  EXPECT_EQ(hp.host, "127.0.0.1");
  EXPECT_EQ(hp.port, bound.advertised().port);
}

}  // namespace
}  // namespace keel
