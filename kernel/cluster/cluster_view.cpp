#include "cluster/cluster_view.hpp"

namespace keel {

ClusterView::ClusterView(const ClusterConfig& config)
    : clustered_(config.enabled),
      self_(config.broker_id),
      cluster_id_(config.cluster_id),
      advertised_host_(config.advertised_host),
      rack_(config.rack),
      state_(std::make_shared<ClusterState>()) {}

int32_t ClusterView::controller_id() const {
  if (!clustered_) return self_;
  return snapshot()->controller_id;
}

void ClusterView::advertise(const std::string& listener, const std::string& host, int32_t port) {
  std::function<void()> notify;
  {
    std::lock_guard lock(mu_);
    const bool wildcard = host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
    listeners_[listener] = HostPort{wildcard ? advertised_host_ : host, port};
    notify = on_change_;
  }
  if (notify) notify();
}

BrokerRecord ClusterView::self_record() const {
  std::lock_guard lock(mu_);
  return BrokerRecord{self_, rack_, listeners_};
}

void ClusterView::on_listeners_changed(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  on_change_ = std::move(fn);
}

namespace {

// `state` with broker `self` gone: not live and not the controller.
std::shared_ptr<const ClusterState> without(const std::shared_ptr<const ClusterState>& state, int32_t self) {
  if (!state->is_live(self) && state->controller_id != self) return state;
  auto copy = std::make_shared<ClusterState>(*state);
  copy->brokers.erase(self);
  if (copy->controller_id == self) copy->controller_id = -1;
  return copy;
}

}  // namespace

void ClusterView::publish(std::shared_ptr<const ClusterState> state) {
  std::function<void()> fn;
  {
    std::lock_guard lock(mu_);
    state_ = fenced_ ? without(state, self_) : std::move(state);
    fn = on_published_;
  }
  if (fn) fn();
}

bool ClusterView::fence() {
  std::function<void()> fn;
  {
    std::lock_guard lock(mu_);
    if (fenced_) return false;
    fenced_ = true;
    state_ = without(state_, self_);
    fn = on_published_;
  }
  if (fn) fn();  // replication stops leading now
  return true;
}

void ClusterView::unfence() {
  std::lock_guard lock(mu_);
  fenced_ = false;
}

void ClusterView::on_published(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  on_published_ = std::move(fn);
}

std::shared_ptr<const ClusterState> ClusterView::snapshot() const {
  std::lock_guard lock(mu_);
  return state_;
}

std::vector<LiveBroker> ClusterView::brokers(const std::string& listener) const {
  std::vector<LiveBroker> out;
  if (!clustered_) {
    BrokerRecord me = self_record();
    if (auto it = me.listeners.find(listener); it != me.listeners.end()) {
      out.push_back(LiveBroker{self_, it->second, rack_});
    }
    return out;
  }
  auto st = snapshot();
  for (const auto& [id, b] : st->brokers) {
    if (auto it = b.record.listeners.find(listener); it != b.record.listeners.end()) {
      out.push_back(LiveBroker{id, it->second, b.record.rack});
    }
  }
  return out;
}

PartitionLeadership ClusterView::leadership(const std::string& topic, int32_t partition) const {
  if (!clustered_) return PartitionLeadership{self_, 0, {self_}, {self_}};
  auto st = snapshot();
  PartitionLeadership out;
  const PartitionId id{topic, partition};
  if (const auto* r = st->replicas(id)) out.replicas = *r;
  if (auto it = st->partitions.find(id); it != st->partitions.end()) {
    out.leader = it->second.record.leader;
    out.leader_epoch = it->second.record.leader_epoch;
    out.isr = it->second.record.isr;
  }
  // A leader whose broker is gone is no leader: clients wait for the
  // controller's election instead of knocking at a dead address.
  if (out.leader >= 0 && !st->is_live(out.leader)) out.leader = -1;
  return out;
}

bool ClusterView::leads(const std::string& topic, int32_t partition) const {
  if (!clustered_) return true;
  auto st = snapshot();
  auto it = st->partitions.find(PartitionId{topic, partition});
  return it != st->partitions.end() && it->second.record.leader == self_ && st->is_live(self_);
}

}  // namespace keel
