// Fuzzes the Kafka request decoder: one input is one request frame (the
// bytes after the 4-byte size), dispatched by a real Connection exactly as
// one read from a socket is: header parsing, API and version checks, then
// the API's handler, which decodes the body and answers through the
// refusing broker, once on a PLAINTEXT and once on a SASL listener. Completions run on the connection's
// strand; the socket is not connected, so answers go nowhere.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "../../plugins/transport/kafka/connection.hpp"
#include "../../plugins/transport/kafka/services.hpp"
#include "refusing_broker.hpp"

namespace {

// The transport's settings with one listener of `protocol`: every input
// goes through a PLAINTEXT listener (all APIs served) and a SASL one (only
// ApiVersions and the SASL handshake before authentication).
keel::kafka::Settings settings_with(const char* protocol) {
  keel::kafka::Settings s;
  s.security_protocol = protocol;
  keel::kafka::ListenerSpec l;
  l.security_protocol = protocol;
  s.listeners.push_back(l);
  return s;
}

void run_one(const keel::kafka::Settings& settings, const uint8_t* data, size_t size) {
  namespace asio = boost::asio;
  using namespace keel::kafka;
  Services services(keel::sdk::Host(keel::fuzz::refusing_host()), settings, keel::fuzz::refusing_broker());
  auto conn = std::make_shared<Connection>(services, asio::ip::tcp::socket(services.io),
                                           keel::transport::Ticket{}, asio::make_strand(services.io));
  auto frame = std::make_shared<Frame>(size);
  if (size > 0) std::memcpy(frame->data(), data, size);
  conn->dispatch(frame);
  services.io.poll();  // the answers the handlers posted
  conn->close("");
  services.io.restart();
  services.io.poll();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const keel::kafka::Settings plaintext = settings_with("PLAINTEXT");
  static const keel::kafka::Settings sasl = settings_with("SASL_PLAINTEXT");
  run_one(plaintext, data, size);
  run_one(sasl, data, size);
  return 0;
}
