// The HTTP/JSON transport: entry point and life cycle.
#include <keel/plugin.hpp>
#include <memory>

#include "router.hpp"
#include "server.hpp"
#include "services.hpp"
#include "settings.hpp"

namespace keel::web {

class HttpTransport final : public sdk::Transport {
 public:
  HttpTransport(const sdk::Host& host, const sdk::Config& config, const keel_broker_api* broker)
      : services_(std::make_unique<Services>(host, Settings::read(config), broker)),
        server_(std::make_unique<Server>(*services_, router_)) {}

  ~HttpTransport() override {
    server_.reset();  // joins the I/O threads before the state they use goes
    services_.reset();
  }

  void start() override { server_->start(); }
  void stop() override { server_->stop(); }

 private:
  Router router_;
  std::unique_ptr<Services> services_;
  std::unique_ptr<Server> server_;
};

}  // namespace keel::web

KEEL_PLUGIN("http", "1.0.0", keel::sdk::transport_strategy<keel::web::HttpTransport>("http"))
