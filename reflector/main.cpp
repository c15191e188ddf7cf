#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "codec/encode_cache.h"
#include "metrics/metrics.h"
#include "reflector/encode_pool.h"
#include "reflector/event_loop.h"
#include "reflector/health_check_client.h"
#include "reflector/log.h"
#include "reflector/ops_server.h"
#include "reflector/options.h"
#include "reflector/random_bytes.h"
#include "reflector/repeater_token.h"
#include "reflector/session_registry.h"
#include "reflector/signal_watcher.h"
#include "reflector/startup_config.h"
#include "reflector/stats_logger.h"
#include "reflector/tile_encode_service.h"
#include "reflector/user_file.h"
#include "reflector/web_server.h"
#include "reflector/web_token.h"

using namespace rfbcast;

namespace {

int fail(const std::string& message) {
    std::fprintf(stderr, "rfbcast: %s\n", message.c_str());
    return 1;
}

int config_errors(const std::vector<std::string>& errors) {
    for (const std::string& e : errors)
        std::fprintf(stderr, "rfbcast: %s\n", e.c_str());
    return 2;
}

// What --print-id-token prints: the token a server dials in with for a dynamic ID.
int print_id_token(const Options& opt) {
    if (opt.dynamic_id_key_file.empty())
        return fail("--print-id-token needs --dynamic-id-key-file (or the config's key file)");
    std::string key, error;
    if (!read_secret_file(opt.dynamic_id_key_file, key, error, SecretKind::kPassword))
        return fail(error);
    std::printf("ID:%s:%s\n", opt.print_id_token.c_str(),
                repeater_token(key, opt.print_id_token).c_str());
    return 0;
}

// --make-web-token: a signed browser link for a session.
int make_web_token_cmd(const Options& opt) {
    if (opt.web_token_key_file.empty()) return fail("--make-web-token needs --web-token-key-file");
    std::string key, error;
    if (!read_secret_file(opt.web_token_key_file, key, error, SecretKind::kPassword))
        return fail(error);
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const WebAccess access =
        opt.web_token_access == "control" ? WebAccess::kControl : WebAccess::kView;
    const std::string token =
        make_web_token(key, opt.make_web_token, access, now + opt.web_token_ttl_s);
    if (token.empty()) return fail("cannot sign the token");
    std::printf("%s\n", token.c_str());
    return 0;
}

// The HTTP listener's settings: the viewer's files, and HTTPS with the viewers' certificate.
std::shared_ptr<HttpSettings> http_settings(const GlobalConfig& g, const RegistrySettings& r,
                                            const StaticFiles* files) {
    auto h = std::make_shared<HttpSettings>();
    h->files = files;
    if (r.session_template.security) h->tls = r.session_template.security->x509;
    h->allowed_origins = g.web_origins;
    return h;
}

// --healthcheck: the running instance's /healthz, at the metrics address its config or
// environment names (what Docker's HEALTHCHECK runs inside the container).
int healthcheck(const Options& opt) {
    Config config;
    std::vector<std::string> errors;
    std::string address = opt.metrics_listen == "off" ? std::string() : opt.metrics_listen;
    if (build_config(opt, config, errors)) address = config.global.metrics_listen;
    if (address.empty()) return fail("--healthcheck needs --metrics-listen (or metrics_listen)");
    return run_health_check(address, "/healthz", 3000);
}

// --hash-password: the password comes on standard input (never the command line).
int hash_password(const std::string& user) {
    std::string password;
    if (!std::getline(std::cin, password) || password.empty())
        return fail("--hash-password reads the password from standard input (one line)");
    std::array<uint8_t, kUserSaltLength> salt{};
    if (!fill_random(salt)) return fail("no random bytes for the salt");
    const std::string line = make_user_line(user, password, kUserDefaultIterations, salt);
    password.assign(password.size(), '\0');
    if (line.empty()) return fail("'" + user + "' cannot be a user name (no ':' or spaces)");
    std::printf("%s\n", line.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    if (auto code = parse_options(argc, argv, opt)) return *code;
    log_configure(opt.log_level, opt.log_format);
    if (!opt.print_id_token.empty()) return print_id_token(opt);
    if (!opt.hash_password_user.empty()) return hash_password(opt.hash_password_user);
    if (!opt.make_web_token.empty()) return make_web_token_cmd(opt);

    Config config;
    std::vector<std::string> errors;
    if (opt.healthcheck) return healthcheck(opt);
    if (!build_config(opt, config, errors)) return config_errors(errors);
    log_configure(config.global.log_level, config.global.log_format);
    RegistrySettings settings;
    std::string error;
    if (!build_registry_settings(opt, config, settings, error)) return fail(error);
    errors = SessionRegistry::check(config, settings);
    if (!errors.empty()) return config_errors(errors);
    if (opt.check_config) {
        std::printf("%s", describe(config).c_str());
        std::printf("configuration OK\n");
        return 0;
    }

    auto loop = EventLoop::create(4096, &error);
    if (!loop) return fail(error);

    const GlobalConfig& g = config.global;
    metrics::Metrics metrics(RFBCAST_VERSION);
    rfb::EncodeCache cache(g.cache_mb * 1024 * 1024);
    // Rendered on the loop, which owns the cache: no lock needed.
    metrics.set_cache_stats_source([&cache] {
        const rfb::EncodeCacheStats& c = cache.stats();
        return metrics::CacheSnapshot{c.hits, c.misses, c.evictions, c.bytes, c.entries};
    });
    EncodePool pool(*loop, g.encode_threads >= 0 ? static_cast<unsigned>(g.encode_threads)
                                                 : default_encode_threads());
    TileEncodeService encoder(cache, pool, &metrics);
    SessionRegistry registry(*loop, encoder, settings, &metrics);
    StaticFiles web_files;
    std::unique_ptr<WebServer> web;
    if (!g.http_listen.empty()) {
        const std::string root = find_web_root(g.web_root);
        if (root.empty()) {
            LOG_WARN("web-root-missing",
                     "note=\"no viewer page found (--web-root); browsers get WebSocket only\"");
        } else if (!web_files.load(root, size_t{64} << 20, error)) {
            return fail(error);
        }
        web = std::make_unique<WebServer>(*loop, registry, http_settings(g, settings, &web_files),
                                          &metrics);
        if (g.http_on_viewer_port)
            registry.set_web_handoff([&web](Connection* c) { web->adopt(c); });
    }

    // SIGTERM drains: readiness fails, new viewers are refused, each viewer finishes its update
    // and is closed; the loop stops when none is left or the drain time is up. SIGINT, or a
    // second signal, stops at once.
    EventLoop::TimerId drain_timer = 0;
    const Clock::time_point never{};
    Clock::time_point drain_deadline = never;
    std::function<void()> check_drained = [&] {
        drain_timer = 0;
        // Viewers still finishing their update, and closed ones whose last bytes are queued.
        const size_t left = registry.total_viewers(), lingering = loop->lingering();
        if ((left == 0 && lingering == 0) || loop->now() >= drain_deadline) {
            LOG_INFO("drained", "viewers-left=%zu connections-flushing=%zu", left, lingering);
            loop->stop();
            return;
        }
        drain_timer = loop->add_timer(std::chrono::milliseconds(50), check_drained);
    };
    SignalWatcher signals(*loop, [&](int signo) {
        if (signo != SIGHUP) {
            if (signo == SIGTERM && drain_deadline == never && g.drain_timeout_s > 0) {
                drain_deadline = loop->now() + std::chrono::seconds(g.drain_timeout_s);
                LOG_INFO("draining", "signal=%d viewers=%zu drain-timeout-s=%d", signo,
                         registry.total_viewers(), g.drain_timeout_s);
                metrics.set_draining(true);
                registry.drain("rfbcast is shutting down");
                check_drained();
                return;
            }
            LOG_INFO("shutting-down", "signal=%d", signo);
            metrics.set_draining(true);
            registry.set_draining();
            loop->stop();
            return;
        }
        // Without --config this still re-reads the password, users and certificate files.
        // A broken file leaves everything running as it was.
        Config next;
        RegistrySettings next_settings;
        std::vector<std::string> problems;
        std::string why;
        if (build_config(opt, next, problems) &&
            !build_registry_settings(opt, next, next_settings, why))
            problems.push_back(why);
        if (problems.empty()) problems = SessionRegistry::check(next, next_settings);
        if (!problems.empty()) {
            for (const std::string& p : problems)
                LOG_ERROR("reload-failed", "problem=\"%s\"", p.c_str());
            return;
        }
        if (web) web->set_settings(http_settings(next.global, next_settings, &web_files));
        registry.update_settings(std::move(next_settings));
        if (!registry.apply(next, why))
            LOG_ERROR("reload-failed", "problem=\"%s\"", why.c_str());
        else
            LOG_INFO("reloaded", "sessions=%zu", registry.session_count());
    });
    if (!signals.start()) return fail("cannot set up signal handling");
    std::unique_ptr<OpsServer> ops;
    if (!g.metrics_listen.empty()) {
        OpsHandlers h;
        h.render_metrics = [&metrics] { return metrics.render(); };
        h.ready = [&registry] { return !registry.draining(); };
        h.on_accepted = [&metrics] { metrics.accepted(metrics::Listener::kMetrics); };
        h.on_refused = [&metrics] { metrics.refused(metrics::RefuseReason::kOther); };
        ops = std::make_unique<OpsServer>(*loop, std::move(h));
        if (!ops->listen(g.metrics_listen, error)) return fail("metrics_listen: " + error);
        LOG_INFO("metrics-listening", "address=%s", g.metrics_listen.c_str());
    }
    // What stays registered once every connection and listener is gone.
    const size_t baseline = loop->handler_count();
    if (!registry.apply(config, error)) return fail(error);
    if (web && !web->listen(g.http_listen, error)) return fail("http_listen: " + error);

    LOG_INFO("started", "version=%s sessions=%zu encode-threads=%u", RFBCAST_VERSION,
             registry.session_count(), pool.threads());
    StatsLogger stats(*loop, std::chrono::seconds(g.stats_interval_s), registry, encoder);
    stats.start();
    loop->run();
    if (drain_timer) loop->cancel_timer(drain_timer);
    if (ops) ops->close();  // a scraper's keep-alive connection must not hold up the exit

    // Close every connection and let the kernel hand back their buffers before exiting.
    registry.close_all("rfbcast is shutting down");
    loop->run_until([&] { return loop->handler_count() <= baseline; }, std::chrono::seconds(2));
    LOG_INFO("stopped", nullptr);
    return 0;
}
