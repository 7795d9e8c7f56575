// The one error type of the etcd client: which etcd (endpoint), which call
// (operation) on which key, and what went wrong (etcd's own message, or the
// connection's), so that a log line says all of it:
//   etcd at 127.0.0.1:2379: txn on /keel/controller: connection refused;
//   is etcd running? (--listen-client-urls)
#pragma once

#include <stdexcept>
#include <string>

namespace keel::etcd {

class EtcdError : public std::runtime_error {
 public:
  enum class Kind {
    Unreachable,  // no endpoint accepted a connection: the request was not sent
    Timeout,      // the call's deadline passed; a write may or may not have applied
    Dropped,      // the connection broke after the request was sent: outcome unknown
    Rejected,     // etcd answered with an error (its message in detail())
    Protocol,     // an answer this client cannot read
  };

  EtcdError(Kind kind, std::string endpoint, std::string operation, std::string key, std::string detail);

  Kind kind() const { return kind_; }
  const std::string& endpoint() const { return endpoint_; }
  const std::string& operation() const { return operation_; }
  const std::string& key() const { return key_; }
  const std::string& detail() const { return detail_; }

 private:
  Kind kind_;
  std::string endpoint_;
  std::string operation_;
  std::string key_;
  std::string detail_;
};

}  // namespace keel::etcd
