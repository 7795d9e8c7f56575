// keel-tool: operator's utility working directly on a data directory, with
// the broker stopped (it takes the same data-dir lock).
//   produce  append records through the kernel (as a transport would)
//   consume  print records of a partition
//   dump     print the batches of one segment file and check their CRCs
//   verify   check every segment and index of a data directory
//   salvage  copy the readable batches of a damaged segment to a new file
//   user     add, remove or list the users SASL authenticates against
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <keel/record_batch.hpp>
#include <mutex>
#include <string>
#include <vector>

#include "broker.hpp"
#include "commands.hpp"
#include "common/error.hpp"
#include "common/exit_codes.hpp"
#include "config/config.hpp"
#include "storage/batch_probe.hpp"

namespace po = boost::program_options;

namespace {

const char* kUsage =
    "Usage: keel-tool <command> [options]\n\n"
    "Commands:\n"
    "  produce   append records to a topic (the broker must be stopped)\n"
    "  consume   print a partition's records as offset<TAB>timestamp<TAB>key<TAB>value\n"
    "  dump      print the batches of a segment file and verify their CRCs\n"
    "  verify    check every segment and index of a data directory, changing nothing\n"
    "  salvage   copy the readable batches of a damaged segment into a new file\n"
    "  user      add, remove or list the users SASL authenticates (SCRAM credentials)\n\n"
    "Run 'keel-tool <command> --help' for its options.\n\n"
    "Exit codes:\n"
    "  0  the command did its work (verify, dump: nothing damaged)\n"
    "  1  the command failed, or verify/dump found damage\n"
    "  2  usage or configuration error\n"
    "  3  the data dir is locked by a running broker\n";

}  // namespace

keel::BrokerConfig keel::tool::load(const std::string& config_path, const std::string& data_dir) {
  std::vector<std::string> overrides;
  if (!data_dir.empty()) overrides.push_back(keel::string_override("broker.data_dir", data_dir));
  keel::BrokerConfig cfg;
  try {
    cfg = config_path.empty() ? keel::parse_config("", "<defaults>", overrides)
                              : keel::load_config_file(config_path, overrides);
  } catch (const keel::Error& e) {
    throw keel::ConfigError(e.code(), e.what());  // exits with exit_code::kConfig
  }
  cfg.transports.clear();  // the tool is the only client
  return cfg;
}

void keel::tool::add_progress_options(po::options_description& opts, ProgressFlags& flags) {
  // clang-format off
  opts.add_options()
      ("progress", po::bool_switch(&flags.on), "show progress on stderr even when it is not a terminal")
      ("no-progress", po::bool_switch(&flags.off), "no progress on stderr (default: shown on a terminal)");
  // clang-format on
}

keel::tool::Progress::Options keel::tool::progress_options(const ProgressFlags& flags) {
  return stderr_progress(progress_wanted(flags.on, flags.off));
}

namespace {

using keel::tool::load;
using keel::tool::Progress;

constexpr int64_t kProduceProgressRecords = 10000;

std::string printable(const std::optional<std::string>& s) { return s ? *s : "<null>"; }

int produce(int argc, char** argv) {
  po::options_description opts("keel-tool produce");
  std::string config, data_dir, topic, key, value, acks = "all";
  int32_t partition = -1;
  int64_t count = 1, size = 100, batch = 1;
  // clang-format off
  opts.add_options()
      ("help,h", "this help")
      ("config,c", po::value(&config), "broker config file (topics, strategies)")
      ("data-dir,d", po::value(&data_dir), "data directory (overrides the config)")
      ("topic,t", po::value(&topic)->required(), "topic (created with the defaults if missing)")
      ("partition,p", po::value(&partition), "partition; default: the topic's partitioner decides")
      ("key,k", po::value(&key), "record key (default: null key)")
      ("value,v", po::value(&value), "record value (default: generated, --size bytes)")
      ("count,n", po::value(&count), "records to produce (default 1)")
      ("size", po::value(&size), "generated value size in bytes (default 100)")
      ("batch,b", po::value(&batch), "records per batch (default 1)")
      ("acks", po::value(&acks), "1 or all (default all): all waits for the topic's flush policy");
  // clang-format on
  keel::tool::ProgressFlags progress_flags;
  keel::tool::add_progress_options(opts, progress_flags);
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, opts), vm);
  if (vm.count("help")) {
    std::cout << opts
              << "\nPrints 'acked <partition> <first offset> <last offset>' for each acknowledged "
                 "batch, at once (stdout is flushed). Progress goes to stderr when it is a terminal\n"
                 "and -n is at least "
              << kProduceProgressRecords << " (or with --progress).\n";
    return 0;
  }
  po::notify(vm);
  keel::Broker broker(load(config, data_dir));
  broker.start();
  auto t = broker.get_topic(topic, true);
  // Records acknowledged; updated under `mu` by the acks, which also print.
  // A few records need no progress line unless asked for.
  if (count < kProduceProgressRecords) progress_flags.off = progress_flags.off || !progress_flags.on;
  Progress progress(keel::tool::progress_options(progress_flags), "produce", Progress::Unit::kRecords, count);
  progress.set_item("topic " + topic);
  const bool stdout_tty = ::isatty(STDOUT_FILENO) == 1;
  std::mutex mu;
  std::condition_variable cv;
  int64_t pending = 0;
  int rc = 0;
  for (int64_t done = 0; done < count;) {
    keel::batch::Builder b;
    const int64_t now = broker.clock().now_ms();
    for (int64_t i = 0; i < batch && done < count; ++i, ++done) {
      std::optional<std::string> k;
      if (vm.count("key")) k = key;
      std::string v = vm.count("value") ? value : std::string(static_cast<size_t>(size), 'a' + done % 26);
      if (!vm.count("value") && v.size() >= 20) {
        std::string tag = "record-" + std::to_string(done) + "-";
        v.replace(0, tag.size(), tag);
      }
      b.add(k, v, now);
    }
    std::string bytes = b.build();
    int32_t p = partition >= 0 ? partition
                               : t->choose_partition(
                                     vm.count("key") ? reinterpret_cast<const uint8_t*>(key.data()) : nullptr,
                                     key.size());
    {
      std::lock_guard lock(mu);
      ++pending;
    }
    broker.produce(topic, p, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                   acks == "all" ? KEEL_ACKS_ALL : KEEL_ACKS_LEADER,
                   [&, p](keel_status s, const std::string& msg, const keel::AppendResult& r) {
                     std::lock_guard lock(mu);
                     if (s == KEEL_OK) {
                       if (stdout_tty) progress.clear();
                       std::printf("acked %d %lld %lld\n", p, static_cast<long long>(r.base_offset),
                                   static_cast<long long>(r.last_offset));
                       std::fflush(stdout);
                       progress.add(r.last_offset - r.base_offset + 1);
                     } else {
                       progress.clear();
                       std::fprintf(stderr, "keel-tool: produce failed: %s\n", msg.c_str());
                       rc = 1;
                     }
                     --pending;
                     cv.notify_all();
                   });
    // Keep a bounded window so that group commit has something to group.
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return pending < 64; });
    if (rc != 0) break;
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return pending == 0; });
  progress.finish();
  lock.unlock();
  broker.stop();
  return rc;
}

int consume(int argc, char** argv) {
  po::options_description opts("keel-tool consume");
  std::string config, data_dir, topic;
  int32_t partition = 0;
  int64_t from = -2, max = -1;
  // clang-format off
  opts.add_options()
      ("help,h", "this help")
      ("config,c", po::value(&config), "broker config file")
      ("data-dir,d", po::value(&data_dir), "data directory (overrides the config)")
      ("topic,t", po::value(&topic)->required(), "topic")
      ("partition,p", po::value(&partition), "partition (default 0)")
      ("offset,o", po::value(&from), "first offset (default: the log start)")
      ("max,m", po::value(&max), "stop after this many records (default: all)");
  // clang-format on
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, opts), vm);
  if (vm.count("help")) {
    std::cout << opts;
    return 0;
  }
  po::notify(vm);
  keel::Broker broker(load(config, data_dir));
  broker.start();
  auto log = broker.partition(topic, partition);
  int64_t offset = from < 0 ? log->log_start_offset() : from;
  int64_t printed = 0;
  std::vector<uint8_t> buf;
  while (offset < log->log_end_offset() && (max < 0 || printed < max)) {
    keel::ReadResult r = log->read(offset, 1 << 20);
    if (r.length == 0) break;
    buf.resize(static_cast<size_t>(r.length));
    if (::pread(r.segment->fd(), buf.data(), buf.size(), r.position) != r.length) {
      throw keel::Error(KEEL_ERR_IO, "short read from " + r.segment->path());
    }
    size_t pos = 0;
    while (pos < buf.size()) {
      auto h = keel::batch::parse_header(buf.data() + pos, buf.size() - pos);
      for (const auto& rec : keel::batch::decode(buf.data() + pos, h->total_size())) {
        if (rec.offset < offset || (max >= 0 && printed >= max)) continue;
        std::cout << rec.offset << '\t' << rec.timestamp << '\t' << printable(rec.key) << '\t'
                  << printable(rec.value) << '\n';
        ++printed;
      }
      offset = std::max(offset, h->last_offset() + 1);
      pos += h->total_size();
    }
  }
  broker.stop();
  return 0;
}

int dump(int argc, char** argv) {
  std::string path;
  keel::tool::ProgressFlags progress_flags;
  bool help = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help = true;
    } else if (arg == "--progress") {
      progress_flags.on = true;
    } else if (arg == "--no-progress") {
      progress_flags.off = true;
    } else if (path.empty() && !arg.starts_with("--")) {
      path = arg;
    } else {
      std::cerr << "keel-tool dump: unexpected argument '" << arg << "'; see keel-tool dump --help\n";
      return keel::exit_code::kConfig;
    }
  }
  if (help || path.empty()) {
    std::cout << "Usage: keel-tool dump [--progress|--no-progress] <segment.log>\n"
                 "Prints one line per batch, and where the data ends if the file goes on (a preallocated or\n"
                 "reused file's unused rest); exits 1 if a batch is damaged. Progress goes to stderr when\n"
                 "it is a terminal (--no-progress: never; --progress: always).\n";
    return path.empty() && !help ? 2 : 0;
  }
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw keel::Error(KEEL_ERR_IO, "cannot open '" + path + "': " + keel::errno_text(errno));
  struct stat st {};
  const int64_t size = ::fstat(fd, &st) == 0 ? st.st_size : -1;
  Progress progress(keel::tool::progress_options(progress_flags), "dump", Progress::Unit::kBytes, size);
  progress.set_item(path);
  const bool stdout_tty = ::isatty(STDOUT_FILENO) == 1;
  // The segment's base offset, from its name (20 digits); 0 for a file
  // named otherwise (then only zeros end the data).
  const std::string name = std::filesystem::path(path).filename().string();
  const bool named = name.size() >= 20 && std::all_of(name.begin(), name.begin() + 20, ::isdigit);
  const int64_t file_base = named ? std::stoll(name.substr(0, 20)) : 0;
  std::vector<uint8_t> buf;
  int64_t pos = 0;
  int rc = 0;
  while (true) {
    uint8_t hdr[keel::batch::kHeaderSize];
    ssize_t n = ::pread(fd, hdr, sizeof hdr, pos);
    if (n == 0) break;
    auto h = keel::batch::parse_header(hdr, static_cast<size_t>(std::max<ssize_t>(n, 0)));
    // stdout on the terminal too: its line must not start after a progress line.
    if (stdout_tty) progress.clear();
    if (!h) {
      std::cout << "position " << pos << ": torn header (" << n << " bytes)\n";
      rc = 1;
      break;
    }
    // A preallocated or reused file goes on past its data: zeros, or an
    // older segment's batches. The broker cuts that rest off when it opens
    // the segment (after checking that nothing acknowledged is missing);
    // `keel-tool verify` checks that too.
    if (n == static_cast<ssize_t>(sizeof hdr) && keel::unused_header(hdr, file_base)) {
      std::cout << "position " << pos << ": zeros or an older segment's batches to the end (" << size - pos
                << " bytes): the unused rest of a preallocated or reused file, which the broker cuts off "
                   "when nothing acknowledged is missing there ('keel-tool verify' checks that)\n";
      break;
    }
    buf.resize(h->total_size());
    ssize_t got = ::pread(fd, buf.data(), buf.size(), pos);
    std::string why = keel::batch::validate(buf.data(), static_cast<size_t>(std::max<ssize_t>(got, 0)));
    std::cout << "position " << pos << " offsets " << h->base_offset << ".." << h->last_offset()
              << " records " << h->records_count << " bytes " << h->total_size() << " codec "
              << static_cast<int>(h->compression()) << " max_timestamp " << h->max_timestamp << " "
              << (why.empty() ? "ok" : "DAMAGED: " + why) << '\n';
    if (!why.empty()) {
      rc = 1;
      break;
    }
    pos += static_cast<int64_t>(h->total_size());
    progress.set_done(pos);
  }
  ::close(fd);
  std::cout.flush();  // the summary on a shared terminal comes after the batches
  progress.finish();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  try {
    if (cmd == "produce") return produce(argc - 1, argv + 1);
    if (cmd == "consume") return consume(argc - 1, argv + 1);
    if (cmd == "dump") return dump(argc - 1, argv + 1);
    if (cmd == "verify") return keel::tool::verify(argc - 1, argv + 1);
    if (cmd == "salvage") return keel::tool::salvage(argc - 1, argv + 1);
    if (cmd == "user") return keel::tool::user(argc - 1, argv + 1);
    std::cerr << "keel-tool: unknown command '" << cmd << "'\n" << kUsage;
    return 2;
  } catch (const po::error& e) {
    std::cerr << "keel-tool " << cmd << ": " << e.what() << "\n";
    return keel::exit_code::kConfig;
  } catch (const std::exception& e) {
    std::cerr << "keel-tool " << cmd << ": " << e.what() << "\n";
    return keel::exit_code::for_exception(e);
  }
}
