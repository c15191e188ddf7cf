// Stands in for libFuzzer where it is not available (GCC): runs the target once on every file
// named, or on every file inside a named directory, so a corpus or a crash reproducer can be
// replayed under any compiler and sanitizer.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

int run_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", path.c_str());
        return 1;
    }
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    int failures = 0, runs = 0;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg(argv[i]);
        if (!arg.empty() && arg.native()[0] == '-') continue;  // libFuzzer flags: ignored
        std::error_code ec;
        if (std::filesystem::is_directory(arg, ec)) {
            for (const auto& entry : std::filesystem::directory_iterator(arg, ec)) {
                if (!entry.is_regular_file()) continue;
                failures += run_file(entry.path());
                ++runs;
            }
        } else {
            failures += run_file(arg);
            ++runs;
        }
    }
    std::fprintf(stderr, "replayed %d input(s)\n", runs);
    return failures == 0 ? 0 : 1;
}
