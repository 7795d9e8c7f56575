// keel-tool user: adds, removes and lists the users SASL authenticates
// against (SCRAM-SHA-256/512 credentials, security::CredentialStore), in a
// stopped broker's data directory; it takes the broker's data-dir lock. A
// running broker's users change over the Kafka protocol instead
// (AlterUserScramCredentials, docs/security.md).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "common/error.hpp"
#include "security/credential_store.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace keel::tool {
namespace {

const char* kUserUsage =
    "Usage: keel-tool user add NAME [--password-file F] [--mechanism M] [--iterations N] [-d DATA_DIR]\n"
    "       keel-tool user remove NAME [--mechanism M] [-d DATA_DIR]\n"
    "       keel-tool user list [-d DATA_DIR]\n\n"
    "Changes the users of a stopped broker (the data-dir lock is taken). The password is read\n"
    "from --password-file, or else from the first line of standard input, never from the\n"
    "command line (where other users of the machine could read it). Only the salted, hashed\n"
    "SCRAM keys are stored (RFC 5802), in <data_dir>/.security/scram-credentials.json; PLAIN\n"
    "logins are checked against them too.\n\n"
    "Examples:\n"
    "  echo 's3cret' | keel-tool user add alice -d /var/lib/keel\n"
    "  keel-tool user add bob --password-file bob.pw --mechanism SCRAM-SHA-256 -d /var/lib/keel\n"
    "  keel-tool user list -d /var/lib/keel\n\n"
    "Options";

// Held while the store changes: a broker must not run on the same data dir.
class DirLock {
 public:
  explicit DirLock(const std::string& dir) {
    const std::string path = dir + "/.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail(KEEL_ERR_IO, "cannot open '" + path + "': " + errno_text(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw DataDirLockedError(KEEL_ERR_UNAVAILABLE,
                               "data dir '" + dir +
                                   "' is in use by a running broker; stop it, or change "
                                   "users through the Kafka protocol (docs/security.md)");
    }
  }
  ~DirLock() { ::close(fd_); }

 private:
  int fd_ = -1;
};

std::vector<security::ScramMechanism> mechanisms_from(const std::string& name) {
  if (name == "all") return {security::ScramMechanism::kSha256, security::ScramMechanism::kSha512};
  auto m = security::scram_mechanism(name);
  if (!m) {
    throw ConfigError(KEEL_ERR_INVALID_ARGUMENT,
                      "--mechanism must be SCRAM-SHA-256, SCRAM-SHA-512 or all, got '" + name + "'");
  }
  return {*m};
}

std::string read_password(const std::string& file) {
  std::string line;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) fail(KEEL_ERR_IO, "cannot read the password file '" + file + "'");
    std::getline(in, line);
  } else {
    if (::isatty(STDIN_FILENO)) std::cerr << "password for the new user (one line): " << std::flush;
    std::getline(std::cin, line);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) throw ConfigError(KEEL_ERR_INVALID_ARGUMENT, "the password is empty");
  return line;
}

}  // namespace

int user(int argc, char** argv) {
  po::options_description opts(kUserUsage);
  std::string action, name, config, data_dir, password_file, mechanism = "all";
  int32_t iterations = 8192;
  // clang-format off
  opts.add_options()
      ("help,h", "this help")
      ("action", po::value(&action), "add, remove or list")
      ("name", po::value(&name), "the user")
      ("config,c", po::value(&config), "broker config file (for broker.data_dir)")
      ("data-dir,d", po::value(&data_dir), "data directory (overrides the config)")
      ("password-file", po::value(&password_file), "file whose first line is the password (add)")
      ("mechanism,m", po::value(&mechanism), "SCRAM-SHA-256, SCRAM-SHA-512 or all (default)")
      ("iterations,i", po::value(&iterations), "PBKDF2 iterations, 4096..16384 (add; default 8192)");
  // clang-format on
  po::positional_options_description pos;
  pos.add("action", 1).add("name", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(argc, argv).options(opts).positional(pos).run(), vm);
  if (vm.count("help") || !vm.count("action")) {
    std::cout << opts << '\n';
    return vm.count("help") ? 0 : 2;
  }
  po::notify(vm);
  const BrokerConfig cfg = load(config, data_dir);
  if (action != "add" && action != "remove" && action != "list") {
    throw ConfigError(KEEL_ERR_INVALID_ARGUMENT, "unknown action '" + action + "'; use add, remove or list");
  }
  if (action != "list" && name.empty()) {
    throw ConfigError(KEEL_ERR_INVALID_ARGUMENT, "keel-tool user " + action + " needs the user's name");
  }
  const auto mechanisms = mechanisms_from(mechanism);
  std::error_code ec;
  fs::create_directories(cfg.data_dir, ec);
  DirLock lock(cfg.data_dir);
  security::CredentialStore store(cfg.data_dir + "/.security");
  if (action == "list") {
    for (const auto& e : store.list()) {
      std::cout << e.user << '\t' << security::scram_mechanism_name(e.mechanism) << '\t' << e.iterations
                << " iterations\n";
    }
    return 0;
  }
  if (action == "add") {
    const std::string password = read_password(password_file);
    for (const auto m : mechanisms) {
      store.put(name, security::scram_credential_from_password(m, password, security::random_bytes(32),
                                                               iterations));
      std::cout << "stored the " << security::scram_mechanism_name(m) << " credential of '" << name << "' ("
                << iterations << " iterations)\n";
    }
    return 0;
  }
  bool removed = false;
  for (const auto m : mechanisms) {
    if (store.remove(name, m)) {
      removed = true;
      std::cout << "removed the " << security::scram_mechanism_name(m) << " credential of '" << name << "'\n";
    }
  }
  if (!removed) {
    std::cerr << "keel-tool user remove: '" << name << "' has no such credential\n";
    return 1;
  }
  return 0;
}

}  // namespace keel::tool
