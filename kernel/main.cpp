// keel: the broker executable. Parses the command line, loads the config,
// runs the Broker until SIGINT/SIGTERM, then shuts down cleanly.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "broker.hpp"
#include "common/error.hpp"
#include "common/exit_codes.hpp"
#include "config/config.hpp"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  po::options_description opts("Keel " KEEL_VERSION
                               " - a plugin-based, Kafka-compatible log broker\n\n"
                               "Usage: keel [--config FILE] [options]\n\n"
                               "Options");
  std::string config_path, data_dir, log_level;
  std::vector<std::string> overrides;
  // clang-format off
  opts.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and the plugin ABI version, then exit")
      ("config,c", po::value(&config_path), "TOML config file (see docs/configuration.md); without it, built-in "
                                            "defaults apply")
      ("data-dir,d", po::value(&data_dir), "data directory; overrides broker.data_dir")
      ("log-level,l", po::value(&log_level), "trace|debug|info|warn|error; overrides broker.log_level")
      ("set,s", po::value(&overrides)->composing(), "override one config key, e.g. --set "
                                                    "topic_defaults.partitions=3 (repeatable)")
      ("check-config", "validate the config without starting anything: load its plugins, create and destroy "
                       "each strategy and transport with its settings (no port is bound, the data dir is not "
                       "touched), print the result, exit 0 or 2");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "keel: " << e.what() << "\nRun 'keel --help' for the options.\n";
    return keel::exit_code::kConfig;
  }
  if (vm.count("help")) {
    std::cout << opts << "\nExamples:\n"
              << "  keel --config config/keel.toml\n"
              << "  keel --config config/keel.toml --data-dir /var/lib/keel --set transports.kafka.listen="
                 "0.0.0.0:9092\n"
              << "\nSignals: SIGINT or SIGTERM stop the broker cleanly (flush, checkpoint, marker).\n\n"
              << keel::exit_code::kHelp;
    return keel::exit_code::kOk;
  }
  if (vm.count("version")) {
    std::cout << "keel " KEEL_VERSION " (plugin ABI " << KEEL_ABI_MAJOR << "." << KEEL_ABI_MINOR << ")\n";
    return keel::exit_code::kOk;
  }

  if (!data_dir.empty()) overrides.push_back(keel::string_override("broker.data_dir", data_dir));
  if (!log_level.empty()) overrides.push_back(keel::string_override("broker.log_level", log_level));

  keel::BrokerConfig config;
  try {
    config = config_path.empty() ? keel::parse_config("", "<defaults>", overrides)
                                 : keel::load_config_file(config_path, overrides);
  } catch (const keel::Error& e) {
    std::cerr << "keel: configuration error: " << e.what() << "\n";
    return keel::exit_code::kConfig;
  }
  spdlog::set_default_logger(spdlog::default_logger()->clone("keel"));
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");

  if (vm.count("check-config")) {
    // Plugins' info lines would bury the verdict; warnings still show.
    if (spdlog::get_level() < spdlog::level::warn) spdlog::set_level(spdlog::level::warn);
    keel::Broker broker(std::move(config));  // never started
    const keel::ConfigCheck check = broker.check_config();
    (check.ok() ? std::cout : std::cerr) << check.report(broker.config());
    return check.ok() ? keel::exit_code::kOk : keel::exit_code::kConfig;
  }

  // Signals are taken synchronously by this thread only: block them before
  // any thread starts so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client hanging up must not kill the broker
  // A file-size limit (ulimit -f) must fail the write with EFBIG, not kill us.
  signal(SIGXFSZ, SIG_IGN);

  keel::Broker broker(std::move(config));
  try {
    broker.start();
  } catch (const keel::Error& e) {
    spdlog::critical("start-up failed: {}", e.what());
    broker.stop();
    return keel::exit_code::for_exception(e);
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  broker.stop();
  return keel::exit_code::kOk;
}
