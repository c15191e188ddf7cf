#pragma once
#include <string>
#include <vector>

#include "reflector/config_file.h"
#include "reflector/options.h"
#include "reflector/session_registry.h"

// Turns the command line (and the config file it names) into what the registry runs: the
// Config of sessions, and the settings every session shares. Used at start, by --check-config
// and on every SIGHUP reload.
namespace rfbcast {

// The config file when --config is given (flags given override its global keys), else the one
// session of --upstream (or the demo, when no server is configured at all). Errors are whole
// lines, ready to print.
bool build_config(const Options& opt, Config& out, std::vector<std::string>& errors);

// The settings from flags (and the config's global security keys) that apply to all sessions:
// upstream TLS and encodings, pacing, default password files, viewer TLS credentials and Plain
// users, read afresh on every call (a reload re-reads certificates and users). False with
// `error` when something cannot be used.
bool build_registry_settings(const Options& opt, const Config& config, RegistrySettings& out,
                             std::string& error);

}  // namespace rfbcast
