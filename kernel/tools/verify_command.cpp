// keel-tool verify: checks every segment and index of a stopped broker's
// data directory without changing anything, and says what is damaged.
#include <unistd.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <map>
#include <regex>

#include "broker.hpp"
#include "commands.hpp"
#include "common/clock.hpp"
#include "plugins/plugin_registry.hpp"
#include "storage/segment_check.hpp"
#include "topic.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace keel::tool {
namespace {

struct Totals {
  int64_t partitions = 0;
  int64_t segments = 0;
  int64_t records = 0;
  int64_t bytes = 0;
  int64_t problems = 0;
};

// Progress of the whole run: bytes of the segment files checked so far (all
// listed before the first is read) and stdout kept off its line.
struct Reading {
  Progress& progress;
  bool stdout_tty = false;
  int64_t done = 0;  // bytes of the segments finished
  std::ostream& out() {
    if (stdout_tty) progress.clear();
    return std::cout;
  }
};

void report(Totals& t, Reading& r, const std::string& text) {
  ++t.problems;
  r.out() << "  DAMAGED " << text << '\n';
}

// base offset -> path of the segment files of one <topic>-<partition> directory.
std::map<int64_t, std::string> segments_of(const fs::path& dir) {
  std::map<int64_t, std::string> bases;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    static const std::regex segment_name(R"(\d{20}\.log)");
    if (std::regex_match(name, segment_name)) bases[std::stoll(name.substr(0, 20))] = e.path().string();
  }
  return bases;
}

// Checks one <topic>-<partition> directory.
void verify_partition(const fs::path& dir, const std::map<int64_t, std::string>& bases,
                      const std::vector<IndexSpec>& specs, bool gaps_expected, bool verbose, Totals& t,
                      Reading& r) {
  ++t.partitions;
  r.out() << dir.filename().string() << ": " << bases.size() << " segment(s)\n";
  int64_t expected = -1;
  for (auto it = bases.begin(); it != bases.end(); ++it) {
    const auto next = std::next(it);
    const int64_t end = next == bases.end() ? INT64_MAX : next->first;
    r.progress.set_item(dir.filename().string() + "/" + fs::path(it->second).filename().string());
    SegmentCheck c = check_segment(it->second, it->first, end,
                                   [&](int64_t position) { r.progress.set_done(r.done + position); });
    r.done += c.bytes;
    ++t.segments;
    t.records += c.records;
    t.bytes += c.bytes;
    if (expected >= 0 && it->first > expected) {
      const std::string gap = "offsets " + std::to_string(expected) + ".." + std::to_string(it->first - 1) +
                              " are in no segment file (a segment is missing, emptied or cut short)";
      if (gaps_expected) {
        r.out() << "  note: " << gap << "; expected after compaction\n";
      } else {
        report(t, r, gap + ", before '" + it->second + "'");
      }
    }
    for (const auto& d : c.damage) report(t, r, d.describe());
    const std::string prefix = it->second.substr(0, it->second.size() - 4);
    for (const auto& p : check_indexes(prefix, c, specs))
      report(t, r, fs::path(prefix).filename().string() + ": " + p);
    if (verbose) {
      r.out() << "  " << fs::path(it->second).filename().string() << ": " << c.batches.size() << " batches, "
              << c.records << " records, offsets " << c.base_offset << ".." << c.next_offset - 1 << ", "
              << c.bytes << " bytes" << (c.damage.empty() ? "" : ", DAMAGED") << '\n';
    }
    if (c.unused_bytes > 0) {
      r.out()
          << "  note: " << fs::path(it->second).filename().string() << ": the last " << c.unused_bytes
          << " bytes were never written by this segment (the rest of a reused file, or zeros); the broker "
             "cuts them off when it starts\n";
    }
    expected = c.next_offset;
  }
}

}  // namespace

int verify(int argc, char** argv) {
  po::options_description opts("keel-tool verify [<data_dir>]");
  std::string config, data_dir;
  bool verbose = false;
  // clang-format off
  opts.add_options()
      ("help,h", "this help")
      ("config,c", po::value(&config), "broker config file (to know each topic's index strategies)")
      ("data-dir,d", po::value(&data_dir), "data directory (overrides the config)")
      ("verbose,v", po::bool_switch(&verbose), "one line per segment");
  // clang-format on
  ProgressFlags progress_flags;
  add_progress_options(opts, progress_flags);
  po::positional_options_description pos;
  pos.add("data-dir", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(argc, argv).options(opts).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout
        << opts
        << "\nReads every batch of every segment (checking CRCs and offsets) and looks every batch up\n"
           "through each index, with the broker stopped. Changes nothing. Prints what is damaged, with\n"
           "file, byte positions and offsets; exits 0 when all is intact, 1 when something is damaged.\n"
           "To copy the readable batches of a damaged segment: keel-tool salvage.\n";
    return 0;
  }
  po::notify(vm);
  BrokerConfig cfg = load(config, data_dir);
  if (!fs::is_directory(cfg.data_dir)) {
    std::cerr << "keel-tool verify: no data directory '" << cfg.data_dir << "'\n";
    return 2;
  }
  Broker broker(cfg);  // never started: only asked for the saved settings of topics
  SystemClock clock;
  PluginRegistry registry(plugin_search_path(cfg.plugin_path), &clock);
  for (const auto& lib : cfg.plugins) registry.load_library(lib);
  Totals t;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(cfg.data_dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && !name.starts_with(".") && !name.ends_with(".deleted")) dirs.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  static const std::regex partition_dir(R"((.+)-(\d+))");
  // Every segment file is listed first: the progress line's total.
  std::vector<std::pair<fs::path, std::map<int64_t, std::string>>> partitions;
  int64_t total_bytes = 0;
  for (const auto& dir : dirs) {
    if (!std::regex_match(dir.filename().string(), partition_dir)) continue;
    auto bases = segments_of(dir);
    for (const auto& [base, path] : bases) {
      std::error_code ec;
      const auto size = fs::file_size(path, ec);
      if (!ec) total_bytes += static_cast<int64_t>(size);
    }
    partitions.emplace_back(dir, std::move(bases));
  }
  Progress progress(progress_options(progress_flags), "verify", Progress::Unit::kBytes, total_bytes);
  Reading reading{progress, ::isatty(STDOUT_FILENO) == 1};
  for (const auto& [dir, bases] : partitions) {
    std::smatch m;
    const std::string name = dir.filename().string();
    std::regex_match(name, m, partition_dir);
    const TopicConfig* configured = cfg.find_topic(m[1].str());
    std::unique_ptr<Topic> topic;
    try {
      topic = std::make_unique<Topic>(configured ? *configured : broker.config_for_discovered(m[1].str()),
                                      registry, cfg.data_dir, &clock);
    } catch (const std::exception& e) {
      reading.out() << name << ": index files not checked: " << e.what()
                    << " (pass the broker's --config so that its plugins are found)\n";
    }
    verify_partition(dir, bases, topic ? topic->index_specs() : std::vector<IndexSpec>{},
                     topic == nullptr || topic->rewrites_segments(), verbose, t, reading);
  }
  std::cout.flush();  // the summary on a shared terminal comes after the report
  progress.finish();
  std::cout << t.partitions << " partition(s), " << t.segments << " segment(s), " << t.records << " records, "
            << t.bytes << " bytes: "
            << (t.problems == 0 ? "no damage found" : std::to_string(t.problems) + " problem(s) found")
            << '\n';
  return t.problems == 0 ? 0 : 1;
}

}  // namespace keel::tool
