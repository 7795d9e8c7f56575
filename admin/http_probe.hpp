// A plain HTTP/1.1 GET over a TCP socket (no TLS): enough for a broker's
// /ready and /health probes without an HTTP library.
#pragma once

#include <string>

namespace keel::admin {

struct HttpResult {
  int status = 0;  // 0: no answer (see error)
  std::string body;
  std::string error;  // why there is no answer: connect refused, timeout, ...
};

// GET http://<host_port><path>, waiting at most timeout_ms in all.
HttpResult http_get(const std::string& host_port, const std::string& path, int timeout_ms);

}  // namespace keel::admin
