// TLS for a transport's listener (OpenSSL through Boost.Asio's ssl::context):
// the certificate chain, private key and, for client certificates, the CA
// bundle named in its settings table; TLS 1.2 and newer only.
//
// The files are read again when one of them changes (checked at most once
// per reload_interval_ms, when a connection is accepted), so that a renewed
// certificate takes effect without a restart; connections already open
// keep theirs. A reload that fails (a half-written file, a key that does not
// match) keeps the previous context and says why, once per change.
//
// Threads: current() from any thread (a mutex guards the swap).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <keel/plugin.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace keel::transport {

struct TlsSettings {
  std::string certificate;  // PEM: the server's certificate (chain)
  std::string key;          // PEM: its private key
  std::string ca;           // PEM: CAs that sign client certificates ("": none)
  // "none", "requested" (verified when sent) or "required" (mutual TLS).
  std::string client_auth = "none";
  int64_t reload_interval_ms = 10000;

  // Reads ssl_certificate, ssl_key, ssl_ca, ssl_client_auth and
  // ssl_reload_interval_ms from `table` (named in messages). Throws
  // sdk::Error for a missing file or a bad value.
  static TlsSettings read(const sdk::Config& config, const std::string& table);
};

class TlsContext {
 public:
  using Log = std::function<void(const std::string&)>;
  // Loads the files now; throws sdk::Error naming the file and what is
  // wrong with it (and the key to change in `table`).
  TlsContext(TlsSettings settings, std::string table, Log warn, Log info);

  // The context for a new connection (reloaded first when a file changed).
  std::shared_ptr<boost::asio::ssl::context> current();
  const TlsSettings& settings() const { return settings_; }

 private:
  std::shared_ptr<boost::asio::ssl::context> load() const;
  std::vector<std::filesystem::file_time_type> stamps() const;

  const TlsSettings settings_;
  const std::string table_;
  const Log warn_, info_;
  std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::vector<std::filesystem::file_time_type> stamps_;
  std::vector<std::filesystem::file_time_type> failed_stamps_;  // a reload that failed
  std::chrono::steady_clock::time_point next_check_;
};

// A server context from the files (TLS 1.2+, the client-certificate policy);
// throws sdk::Error naming the file, what is wrong and `table`.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const TlsSettings& settings,
                                                               const std::string& table);

// OpenSSL's words for a failed handshake or read ("wrong version number",
// "certificate verify failed"), for logs.
std::string tls_error_text(const boost::system::error_code& ec);

// Why a server-side handshake failed, for the log line that closes the
// connection: OpenSSL's words, what the client's certificate lacked when
// it did not verify ("certificate has expired"), and a hint at the usual
// cause (a client without TLS, a client that refuses this broker's
// certificate, no client certificate where one is required).
std::string handshake_failure_text(const boost::system::error_code& ec, SSL* ssl);

// The subject of a verified client certificate as Kafka names the
// principal of a mutual-TLS client: "CN=alice,O=Example" ("" when none).
std::string certificate_subject(SSL* ssl);

}  // namespace keel::transport
