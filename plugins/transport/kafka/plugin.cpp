// The Kafka wire-protocol transport: entry point and life cycle.
#include <keel/plugin.hpp>
#include <memory>

#include "group_coordinator.hpp"
#include "server.hpp"
#include "services.hpp"
#include "settings.hpp"

namespace keel::kafka {

class KafkaTransport final : public sdk::Transport {
 public:
  KafkaTransport(const sdk::Host& host, const sdk::Config& config, const keel_broker_api* broker)
      : services_(std::make_unique<Services>(host, Settings::read(config), broker)),
        server_(std::make_unique<Server>(*services_)) {}

  ~KafkaTransport() override {
    server_.reset();  // joins the I/O threads before the state they use goes
    services_.reset();
  }

  void start() override {
    services_->groups().load();  // before the first request
    server_->start();
  }
  void stop() override { server_->stop(); }

 private:
  std::unique_ptr<Services> services_;
  std::unique_ptr<Server> server_;
};

}  // namespace keel::kafka

KEEL_PLUGIN("kafka", "1.0.0", keel::sdk::transport_strategy<keel::kafka::KafkaTransport>("kafka"))
