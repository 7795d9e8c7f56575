#include "common/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/error.hpp>
#include <system_error>

namespace keel::transport {
namespace fs = std::filesystem;
namespace ssl = boost::asio::ssl;

namespace {

[[noreturn]] void bad(const std::string& table, const std::string& what) {
  throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, table + ": " + what);
}

// OpenSSL's reason for the last failure, e.g. "key values mismatch".
std::string openssl_reason(const boost::system::error_code& ec) {
  std::string r = ec.message();
  if (const unsigned long e = ERR_get_error(); e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    r = buf;
  }
  ERR_clear_error();
  return r;
}

}  // namespace

TlsSettings TlsSettings::read(const sdk::Config& config, const std::string& table) {
  TlsSettings s;
  s.certificate = config.get_string("ssl_certificate", "");
  s.key = config.get_string("ssl_key", "");
  s.ca = config.get_string("ssl_ca", "");
  s.client_auth = config.get_string("ssl_client_auth", s.client_auth);
  s.reload_interval_ms = config.get_int("ssl_reload_interval_ms", s.reload_interval_ms);
  if (s.certificate.empty() || s.key.empty()) {
    bad(table,
        "a TLS listener needs ssl_certificate and ssl_key (PEM files); docs/security.md shows how to "
        "make them with openssl");
  }
  if (s.client_auth != "none" && s.client_auth != "requested" && s.client_auth != "required") {
    bad(table,
        "ssl_client_auth must be \"none\", \"requested\" or \"required\", got \"" + s.client_auth + "\"");
  }
  if (s.client_auth != "none" && s.ca.empty()) {
    bad(table,
        "ssl_client_auth = \"" + s.client_auth + "\" needs ssl_ca, the CAs that sign client certificates");
  }
  if (s.reload_interval_ms < 100) bad(table, "ssl_reload_interval_ms must be >= 100");
  for (const auto* f : {&s.certificate, &s.key, &s.ca}) {
    std::error_code ec;
    if (!f->empty() && !fs::is_regular_file(*f, ec)) bad(table, "TLS file '" + *f + "' does not exist");
  }
  // Loaded once here too, so that --check-config finds a bad file or a key
  // that belongs to another certificate.
  make_server_context(s, table);
  return s;
}

TlsContext::TlsContext(TlsSettings settings, std::string table, Log warn, Log info)
    : settings_(std::move(settings)),
      table_(std::move(table)),
      warn_(std::move(warn)),
      info_(std::move(info)) {
  stamps_ = stamps();
  context_ = load();
  next_check_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(settings_.reload_interval_ms);
}

std::vector<fs::file_time_type> TlsContext::stamps() const {
  std::vector<fs::file_time_type> out;
  for (const auto* f : {&settings_.certificate, &settings_.key, &settings_.ca}) {
    std::error_code ec;
    out.push_back(f->empty() ? fs::file_time_type{} : fs::last_write_time(*f, ec));
  }
  return out;
}

std::shared_ptr<ssl::context> TlsContext::load() const { return make_server_context(settings_, table_); }

std::shared_ptr<ssl::context> make_server_context(const TlsSettings& settings_, const std::string& table_) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  // TLS 1.2 and 1.3 only; no compression, no renegotiation.
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                   SSL_OP_NO_RENEGOTIATION);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(settings_.certificate, ec);
  if (ec) bad(table_, "ssl_certificate '" + settings_.certificate + "': " + openssl_reason(ec));
  ctx->use_private_key_file(settings_.key, ssl::context::pem, ec);
  if (ec) {
    const std::string reason = openssl_reason(ec);
    bad(table_, "ssl_key '" + settings_.key + "': " + reason +
                    (reason.find("mismatch") != std::string::npos
                         ? " (it is not the key of ssl_certificate '" + settings_.certificate + "')"
                         : ""));
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    bad(table_,
        "ssl_key '" + settings_.key + "' is not the key of ssl_certificate '" + settings_.certificate + "'");
  }
  if (!settings_.ca.empty()) {
    ctx->load_verify_file(settings_.ca, ec);
    if (ec) bad(table_, "ssl_ca '" + settings_.ca + "': " + openssl_reason(ec));
  }
  if (settings_.client_auth == "required") {
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  } else if (settings_.client_auth == "requested") {
    ctx->set_verify_mode(ssl::verify_peer);
  } else {
    ctx->set_verify_mode(ssl::verify_none);
  }
  return ctx;
}

std::shared_ptr<ssl::context> TlsContext::current() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now < next_check_) return context_;
  next_check_ = now + std::chrono::milliseconds(settings_.reload_interval_ms);
  const auto seen = stamps();
  if (seen == stamps_ || seen == failed_stamps_) return context_;
  try {
    context_ = load();
    stamps_ = seen;
    failed_stamps_.clear();
    info_(table_ + ": TLS certificate files changed; new connections use the new ones");
  } catch (const std::exception& e) {
    failed_stamps_ = seen;
    warn_(std::string(e.what()) +
          "; keeping the certificate loaded before (fix the files: they are read "
          "again once they change)");
  }
  return context_;
}

std::string tls_error_text(const boost::system::error_code& ec) {
  std::string text = ec.message();
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    if (const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) text = reason;
  }
  return text;
}

std::string handshake_failure_text(const boost::system::error_code& ec, SSL* ssl) {
  std::string text = tls_error_text(ec);
  auto has = [&](const char* words) { return text.find(words) != std::string::npos; };
  if (ssl != nullptr && has("certificate verify failed")) {
    // Our check of the client's certificate failed: say what was wrong.
    const long result = SSL_get_verify_result(ssl);
    if (result != X509_V_OK) {
      return text + ": the client's certificate: " + X509_verify_cert_error_string(result) +
             " (it must be valid now and signed by ssl_ca)";
    }
  }
  if (has("alert")) {
    // The client sent the alert: it refused something of ours.
    return text +
           " (the client refused this broker's certificate: expired, or not signed by a CA it trusts?)";
  }
  if (has("peer did not return a certificate")) {
    return text + " (the client sent no certificate; ssl_client_auth = \"required\" needs one)";
  }
  if (has("no shared cipher") || has("unsupported protocol") || has("no protocols available")) {
    return text + " (no TLS version or cipher in common: the broker needs TLS 1.2 or newer)";
  }
  return text + " (a client without TLS, or one that does not trust this certificate?)";
}

std::string certificate_subject(SSL* ssl) {
  // Only a certificate that verified names a principal (OpenSSL fails the
  // handshake otherwise today; this keeps it so if the policy changes).
  if (SSL_get_verify_result(ssl) != X509_V_OK) return "";
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return "";
  std::string out;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    // RFC 2253 order and escaping, as Kafka's default principal builder.
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    if (n > 0) out.assign(data, static_cast<size_t>(n));
    BIO_free(bio);
  }
  X509_free(cert);
  return out;
}

}  // namespace keel::transport
