#pragma once
#include <optional>
#include <string>
#include <vector>

#include "reflector/log.h"

namespace rfbcast {

struct Options {
    std::string upstream;  // host:port; empty = demo session
    std::string upstream_password_file;
    std::string upstream_encodings;  // comma-separated names, preference order; "" = by link
    int upstream_quality = -1;       // JPEG quality 0..9 asked of the upstream; -1 = lossless
    int upstream_compress = -1;      // compression level 0..9 asked of the upstream
    std::string listen = "0.0.0.0:5900";
    std::string password_file;
    std::string viewonly_password_file;
    std::string desktop_name = "rfbcast";
    bool demo = false;
    LogLevel log_level = LogLevel::kInfo;
    LogFormat log_format = LogFormat::kText;
    size_t cache_mb = 256;
    size_t max_viewers = 1000;
};

// Parses argv (and RFBCAST_* environment variables, which flags override). Returns 0 to go on,
// or an exit code (0 after --help/--version, 2 after a usage error) with the text already printed.
std::optional<int> parse_options(int argc, char** argv, Options& out);

// Reads the first line of a secret file (no trailing newline). Errors name the file, never its
// content; a file readable by group or others gets a warning.
bool read_secret_file(const std::string& path, std::string& out, std::string& error);

}  // namespace rfbcast
