#include <sys/random.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <memory>

#include "codec/decoder.h"
#include "codec/encode_cache.h"
#include "codec/rfb_constants.h"
#include "reflector/connection.h"
#include "reflector/demo_source.h"
#include "reflector/encode_pool.h"
#include "reflector/event_loop.h"
#include "reflector/listener.h"
#include "reflector/log.h"
#include "reflector/options.h"
#include "reflector/session.h"
#include "reflector/signal_watcher.h"
#include "reflector/socket_address.h"
#include "reflector/stats_logger.h"
#include "reflector/tile_encode_service.h"
#include "reflector/tls_session.h"
#include "reflector/upstream_client.h"
#include "reflector/viewer_connection.h"

using namespace rfbcast;

namespace {

std::array<uint8_t, 16> random_challenge() {
    std::array<uint8_t, 16> c{};
    size_t got = 0;
    while (got < c.size()) {
        const ssize_t n = getrandom(c.data() + got, c.size() - got, 0);
        if (n > 0) got += static_cast<size_t>(n);
    }
    return c;
}

int fail(const std::string& message) {
    std::fprintf(stderr, "rfbcast: %s\n", message.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    if (auto code = parse_options(argc, argv, opt)) return *code;
    log_configure(opt.log_level, opt.log_format);

    SessionOptions so;
    so.name = opt.upstream.empty() || opt.demo ? opt.desktop_name : "default";
    so.max_viewers = opt.max_viewers;
    so.pacing.max_fps = opt.max_fps;
    so.pacing.rate_cap = opt.viewer_max_kbps * 1000 / 8;
    so.pacing.stall_timeout = std::chrono::seconds(opt.viewer_stall_timeout_s);
    so.min_quality = opt.min_quality;
    so.max_quality = opt.max_quality;
    so.egress_cap = opt.session_max_kbps * 1000 / 8;
    so.lossless_refresh_delay = std::chrono::milliseconds(opt.lossless_refresh_ms);
    so.lossless_when_fast = !opt.no_lossless_when_fast;
    std::string error, secret;
    if (!opt.password_file.empty()) {
        if (!read_secret_file(opt.password_file, secret, error)) return fail(error);
        so.full_password = secret;
    }
    if (!opt.viewonly_password_file.empty()) {
        if (!read_secret_file(opt.viewonly_password_file, secret, error)) return fail(error);
        so.viewonly_password = secret;
    }
    UpstreamOptions uo;
    const bool demo = opt.demo || opt.upstream.empty();
    if (!demo) {
        if (!split_host_port(opt.upstream, uo.host, uo.port, error))
            return fail("--upstream: " + error);
        std::string bad;
        const bool known = opt.upstream_encodings.empty() ||
                           rfb::encoding::parse_list(opt.upstream_encodings, uo.encodings, bad);
        for (int32_t e : uo.encodings)
            if (!rfb::make_decoder(e)) bad = rfb::encoding::name(e);
        if (!known || !bad.empty())
            return fail("--upstream-encodings: rfbcast cannot decode '" + bad +
                        "' (known: raw, copyrect, rre, corre, hextile, zlib, tight, trle, zrle)");
        uo.quality = opt.upstream_quality;
        uo.compress = opt.upstream_compress;
        if (!opt.upstream_username_file.empty()) {
            std::string user;
            if (!read_secret_file(opt.upstream_username_file, user, error, SecretKind::kUsername))
                return fail(error);
            uo.username = user;
        }
        if (!opt.upstream_password_file.empty()) {
            // With a username the password may serve Plain or ARD, which use all of it.
            const SecretKind kind = uo.username ? SecretKind::kPassword : SecretKind::kVncPassword;
            if (!read_secret_file(opt.upstream_password_file, secret, error, kind))
                return fail(error);
            uo.password = secret;
        }
        uo.tls = opt.upstream_tls == "require" ? rfb::TlsPolicy::kRequire
                 : opt.upstream_tls == "off"   ? rfb::TlsPolicy::kOff
                                               : rfb::TlsPolicy::kPrefer;
        if (!opt.upstream_ca.empty()) {
            TlsCredentialsConfig tc;
            tc.role = TlsRole::kClient;
            tc.auth = TlsAuth::kX509;
            tc.ca_file = opt.upstream_ca;
            uo.tls_ca = TlsCredentials::create(tc, &error);
            if (!uo.tls_ca) return fail("--upstream-ca: " + error);
            if (uo.tls == rfb::TlsPolicy::kOff)
                LOG_WARN("upstream-ca-unused",
                         "note=\"--upstream-ca has no effect with --upstream-tls off\"");
        } else if (!opt.upstream_tls_hostname.empty()) {
            LOG_WARN("upstream-tls-hostname-unused",
                     "note=\"--upstream-tls-hostname only matters with --upstream-ca\"");
        }
        uo.tls_hostname = opt.upstream_tls_hostname;
        uo.allow_plain_without_tls = opt.upstream_insecure_plain;
    }
    secret.assign(secret.size(), '\0');

    auto loop = EventLoop::create(4096, &error);
    if (!loop) return fail(error);

    rfb::EncodeCache cache(opt.cache_mb * 1024 * 1024);
    EncodePool pool(*loop, opt.encode_threads >= 0 ? static_cast<unsigned>(opt.encode_threads)
                                                   : default_encode_threads());
    TileEncodeService encoder(cache, pool);
    Session session(*loop, so, encoder);
    std::unique_ptr<UpstreamLink> upstream;
    if (demo)
        upstream = std::make_unique<DemoSource>(session);
    else
        upstream = std::make_unique<UpstreamClient>(session, uo);
    session.set_upstream(upstream.get());

    uint64_t next_viewer_id = 1;
    Listener listener(*loop, [&](int fd, const std::string& peer) {
        Connection::Limits limits;
        limits.rx_chunk = 16 * 1024;
        limits.rx_cap = 512 * 1024;  // above the 256 KiB cut-text limit plus slack
        auto* conn = new Connection(*loop, fd, nullptr, limits, peer);
        if (session.viewer_count() >= so.max_viewers) {
            LOG_WARN("viewer-refused", "peer=%s reason=\"viewer limit %zu reached\"", peer.c_str(),
                     so.max_viewers);
            conn->close();
            return;
        }
        auto viewer =
            std::make_unique<ViewerConnection>(session, conn, next_viewer_id++, random_challenge());
        ViewerConnection* v = viewer.get();
        session.add_viewer(std::move(viewer));
        v->start();
    });
    if (!listener.open(opt.listen, error)) return fail(error);

    SignalWatcher signals(*loop, [&](int signo) {
        if (signo == SIGHUP) {
            LOG_INFO("reload-requested", "note=\"configuration reload is not supported yet\"");
            return;
        }
        LOG_INFO("shutting-down", "signal=%d", signo);
        loop->stop();
    });
    if (!signals.start()) return fail("cannot set up signal handling");

    LOG_INFO("started", "version=%s listen=%s upstream=%s encode-threads=%u", RFBCAST_VERSION,
             opt.listen.c_str(), demo ? "demo" : opt.upstream.c_str(), pool.threads());
    StatsLogger stats(*loop, std::chrono::seconds(opt.stats_interval_s), session, encoder);
    stats.start();
    upstream->start();
    loop->run();

    // Close every connection and let the kernel hand back their buffers before exiting.
    const size_t baseline = 2;  // the listener and the signal watcher
    session.close_all_viewers("rfbcast is shutting down");
    session.set_upstream(nullptr);
    upstream.reset();
    loop->run_until([&] { return loop->handler_count() <= baseline; }, std::chrono::seconds(2));
    LOG_INFO("stopped", nullptr);
    return 0;
}
