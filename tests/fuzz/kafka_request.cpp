// Fuzzes the Kafka request decoder: one input is one request frame (the
// bytes after the 4-byte size), dispatched by a real Connection exactly as
// one read from a socket is: header parsing, API and version checks, then
// the API's handler, which decodes the body and answers through the
// refusing broker. Completions run on the connection's strand; the socket
// is not connected, so answers go nowhere.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "../../plugins/transport/kafka/connection.hpp"
#include "../../plugins/transport/kafka/services.hpp"
#include "refusing_broker.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace asio = boost::asio;
  using namespace keel::kafka;
  Services services(keel::sdk::Host(keel::fuzz::refusing_host()), Settings{}, keel::fuzz::refusing_broker());
  {
    auto conn = std::make_shared<Connection>(services, asio::ip::tcp::socket(services.io),
                                             keel::transport::Ticket{}, asio::make_strand(services.io));
    auto frame = std::make_shared<Frame>(data, data + size);
    conn->dispatch(frame);
    services.io.poll();  // the answers the handlers posted
    conn->close("");
    services.io.restart();
    services.io.poll();
  }
  return 0;
}
