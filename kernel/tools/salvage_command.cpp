// keel-tool salvage: copies the readable batches of a damaged segment file
// into a new file, byte for byte, leaving the damaged original untouched.
#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "storage/segment_check.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace keel::tool {

int salvage(int argc, char** argv) {
  po::options_description opts("keel-tool salvage <segment.log> <output.log>");
  std::string input, output;
  // clang-format off
  opts.add_options()
      ("help,h", "this help")
      ("input", po::value(&input)->required(), "damaged segment file (<20-digit base offset>.log)")
      ("output", po::value(&output)->required(), "new file to write (must not exist)");
  // clang-format on
  ProgressFlags progress_flags;
  add_progress_options(opts, progress_flags);
  po::positional_options_description pos;
  pos.add("input", 1).add("output", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(argc, argv).options(opts).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout
        << opts
        << "\nWrites every batch of the segment whose CRC and offsets are valid to the output file,\n"
           "unchanged, and lists the damaged byte ranges left out. With the broker stopped, replace the\n"
           "segment by the output (keep the original elsewhere) and delete that segment's index files;\n"
           "the broker rebuilds them and reports the left-out offsets as missing (docs/operations.md).\n";
    return 0;
  }
  po::notify(vm);
  const std::string name = fs::path(input).filename().string();
  if (name.size() != 24 || !name.ends_with(".log") ||
      !std::all_of(name.begin(), name.begin() + 20, [](char c) { return c >= '0' && c <= '9'; })) {
    std::cerr << "keel-tool salvage: '" << input
              << "' is not a segment file (expected <20-digit base offset>.log)\n";
    return 2;
  }
  std::error_code ec;
  const auto size = fs::file_size(input, ec);
  Progress progress(progress_options(progress_flags), "salvage", Progress::Unit::kBytes,
                    ec ? -1 : static_cast<int64_t>(size));
  progress.set_item(input + " -> " + output);
  SegmentCheck c = salvage_segment(input, std::stoll(name.substr(0, 20)), output,
                                   [&](int64_t position) { progress.set_done(position); });
  progress.finish();
  std::cout << "wrote " << c.batches.size() << " batch(es), " << c.records << " record(s) to '" << output
            << "'\n";
  for (const auto& d : c.damage) std::cout << "left out: " << d.describe() << '\n';
  if (c.damage.empty()) std::cout << "no damage found: the output is a copy of the input\n";
  return 0;
}

}  // namespace keel::tool
