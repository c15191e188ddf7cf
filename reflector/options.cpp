#include "reflector/options.h"

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

namespace rfbcast {

std::optional<int> parse_options(int argc, char** argv, Options& o) {
    CLI::App app{
        "rfbcast: a multi-session VNC reflector. It connects to one upstream RFB server and "
        "serves its screen to many viewers; with no upstream it serves a built-in demo session."};
    app.set_version_flag("--version", std::string("rfbcast ") + RFBCAST_VERSION);
    std::string level = "info", format = "text";
    app.add_option("--upstream", o.upstream,
                   "Upstream RFB server HOST:PORT (default: demo session)")
        ->envname("RFBCAST_UPSTREAM");
    app.add_option("--upstream-password-file", o.upstream_password_file,
                   "File with the upstream's VNC password (first line)")
        ->envname("RFBCAST_UPSTREAM_PASSWORD_FILE");
    app.add_option("--upstream-encodings", o.upstream_encodings,
                   "Encodings to ask the upstream for, in preference order, e.g. zrle,hextile,raw")
        ->envname("RFBCAST_UPSTREAM_ENCODINGS");
    app.add_option("--upstream-quality", o.upstream_quality,
                   "JPEG quality 0-9 to ask of the upstream (Tight); default lossless")
        ->envname("RFBCAST_UPSTREAM_QUALITY")
        ->check(CLI::Range(0, 9));
    app.add_option("--upstream-compress-level", o.upstream_compress,
                   "Compression level 0-9 to ask of the upstream")
        ->envname("RFBCAST_UPSTREAM_COMPRESS_LEVEL")
        ->check(CLI::Range(0, 9));
    app.add_option("--listen", o.listen, "Viewer listen ADDR:PORT")
        ->envname("RFBCAST_LISTEN")
        ->capture_default_str();
    app.add_option("--password-file", o.password_file,
                   "File with the full-control viewer password (first line)")
        ->envname("RFBCAST_PASSWORD_FILE");
    app.add_option("--viewonly-password-file", o.viewonly_password_file,
                   "File with the view-only viewer password (first line)")
        ->envname("RFBCAST_VIEWONLY_PASSWORD_FILE");
    app.add_option("--desktop-name", o.desktop_name, "Desktop name shown to viewers of the demo")
        ->envname("RFBCAST_DESKTOP_NAME")
        ->capture_default_str();
    app.add_flag("--demo", o.demo, "Serve the built-in demo session even if --upstream is set")
        ->envname("RFBCAST_DEMO");
    app.add_option("--log-level", level, "debug, info, warn or error")
        ->envname("RFBCAST_LOG_LEVEL")
        ->capture_default_str();
    app.add_option("--log-format", format, "text or json")
        ->envname("RFBCAST_LOG_FORMAT")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    app.add_option("--cache-mb", o.cache_mb, "Encoded-tile cache size in MiB")
        ->envname("RFBCAST_CACHE_MB")
        ->check(CLI::Range(1, 65536))
        ->capture_default_str();
    app.add_option("--max-viewers", o.max_viewers, "Most viewers served at once")
        ->envname("RFBCAST_MAX_VIEWERS")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    if (!parse_log_level(level, o.log_level)) {
        std::cerr << "--log-level: expected debug, info, warn or error, got '" << level << "'\n";
        return 2;
    }
    o.log_format = format == "json" ? LogFormat::kJson : LogFormat::kText;
    return std::nullopt;
}

bool read_secret_file(const std::string& path, std::string& out, std::string& error) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        error = "cannot read password file " + path + ": " + std::strerror(errno);
        return false;
    }
    std::ifstream in(path);
    if (!in) {
        error = "cannot open password file " + path;
        return false;
    }
    std::getline(in, out);
    while (!out.empty() && (out.back() == '\r' || out.back() == '\n'))
        out.pop_back();
    if (out.empty()) {
        error = "password file " + path + " is empty";
        return false;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        LOG_WARN("password-file-permissions",
                 "file=%s problem=\"readable by group or others; chmod 600 it\"", path.c_str());
    if (out.size() > 8)
        LOG_WARN("password-truncated",
                 "file=%s problem=\"VNC authentication uses only the first 8 characters\"",
                 path.c_str());
    return true;
}

}  // namespace rfbcast
