// The session registry with real sockets on loopback: routing viewers on the shared port (by
// password, by repeater ID, refusals with reasons), servers dialling in by ID, and reloads.
// Peers here are blocking clients on their own threads; the event loop runs on the test thread.
#include "reflector/session_registry.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "codec/encode_cache.h"
#include "codec/repeater_header.h"
#include "codec/vnc_auth.h"
#include "metrics/metrics.h"
#include "reflector/encode_pool.h"
#include "reflector/repeater_token.h"
#include "reflector/tile_encode_service.h"
#include "tests/unit/reflector/fake_rfb_server.h"
#include "tests/unit/reflector/loopback_port.h"

namespace rfbcast {
namespace {

using Bytes = std::vector<uint8_t>;
using namespace std::chrono_literals;

// A blocking loopback client with a deadline on every read.
class Client {
  public:
    ~Client() {
        if (fd_ >= 0) ::close(fd_);
    }
    bool connect(int port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<uint16_t>(port));
        return ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    bool send(const Bytes& b) {
        return ::send(fd_, b.data(), b.size(), MSG_NOSIGNAL) == ssize_t(b.size());
    }
    bool send(std::string_view s) { return send(Bytes(s.begin(), s.end())); }
    bool read(size_t n, Bytes& out) {
        out.resize(n);
        size_t got = 0;
        while (got < n) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 5000) <= 0) return false;
            const ssize_t r = ::recv(fd_, out.data() + got, n - got, 0);
            if (r <= 0) return false;
            got += static_cast<size_t>(r);
        }
        return true;
    }
    std::string read_text(size_t n) {
        Bytes b;
        return read(n, b) ? std::string(b.begin(), b.end()) : std::string("<nothing>");
    }
    uint32_t read_u32() {
        Bytes b;
        if (!read(4, b)) return 0xffffffff;
        return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
    }
    // After our version: the security types of 3.8. Returns them (empty list: the failure
    // reason goes to *reason).
    Bytes security_types(std::string* reason) {
        Bytes n;
        if (!read(1, n)) return {};
        if (n[0] == 0) {
            const uint32_t len = read_u32();
            if (reason && len < 1000) *reason = read_text(len);
            return {};
        }
        Bytes types;
        read(n[0], types);
        return types;
    }
    // ClientInit (shared) and ServerInit: the desktop's name, or "" on failure.
    std::string client_init(uint16_t* w = nullptr, uint16_t* h = nullptr) {
        if (!send(Bytes{1})) return "";
        Bytes head;
        if (!read(24, head)) return "";
        if (w) *w = static_cast<uint16_t>(head[0] << 8 | head[1]);
        if (h) *h = static_cast<uint16_t>(head[2] << 8 | head[3]);
        const uint32_t len = uint32_t{head[20]} << 24 | uint32_t{head[21]} << 16 |
                             uint32_t{head[22]} << 8 | head[23];
        return len < 1000 ? read_text(len) : "";
    }
    // The whole RFB 3.8 viewer handshake with security None; returns the desktop name.
    std::string handshake_none(uint16_t* w = nullptr, uint16_t* h = nullptr) {
        if (read_text(12) != "RFB 003.008\n" || !send("RFB 003.008\n")) return "";
        const Bytes types = security_types(nullptr);
        if (types.empty() || !send(Bytes{1}) || read_u32() != 0) return "";
        return client_init(w, h);
    }
    std::string handshake_password(const std::string& password, uint32_t* result) {
        if (read_text(12) != "RFB 003.008\n" || !send("RFB 003.008\n")) return "";
        const Bytes types = security_types(nullptr);
        if (types.empty() || !send(Bytes{2})) return "";
        Bytes challenge;
        if (!read(16, challenge)) return "";
        const auto response =
            rfb::vnc_auth_response(std::span<const uint8_t, 16>(challenge.data(), 16), password);
        if (!send(Bytes(response.begin(), response.end()))) return "";
        *result = read_u32();
        if (*result != 0) return "";
        return client_init();
    }
    // The repeater preamble: our greeting in, the 250-byte field out.
    bool repeater(std::string_view text) {
        return read_text(12) == "RFB 000.000\n" && send(rfb::make_repeater_header(text));
    }
    bool closed_within(int ms) {
        pollfd p{fd_, POLLIN, 0};
        char c;
        return ::poll(&p, 1, ms) > 0 && ::recv(fd_, &c, 1, 0) <= 0;
    }
    int fd() const { return fd_; }

  private:
    int fd_ = -1;
};

class SessionRegistryTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string err;
        loop_ = EventLoop::create(256, &err);
        ASSERT_TRUE(loop_) << err;
        cache_ = std::make_unique<rfb::EncodeCache>(16 << 20);
        pool_ = std::make_unique<EncodePool>(*loop_, 0);
        encoder_ = std::make_unique<TileEncodeService>(*cache_, *pool_, &metrics_);
        config_.global.listen = "127.0.0.1:" + std::to_string(shared_port_);
        char tmpl[] = "/tmp/rfbcast-registry-XXXXXX";
        dir_ = mkdtemp(tmpl);
    }
    void TearDown() override {
        registry_.reset();
        loop_->run_until([] { return false; }, 50ms);
        std::system(("rm -rf " + dir_).c_str());
    }
    // Viewers are offered anonymous TLS (VeNCrypt TLSNone/TLSVnc), as with --viewer-tls prefer.
    void use_anonymous_tls() {
        auto security = std::make_shared<ViewerSecurity>();
        std::string error;
        security->anonymous = TlsCredentials::create(
            TlsCredentialsConfig{TlsRole::kServer, TlsAuth::kAnonymous, {}, {}, {}, {}}, &error);
        ASSERT_TRUE(security->anonymous) << error;
        settings_.session_template.security = security;
    }
    std::string secret_file(const std::string& name, const std::string& content) {
        const std::string path = dir_ + "/" + name;
        std::ofstream(path) << content << "\n";
        ::chmod(path.c_str(), 0600);
        return path;
    }
    SessionConfig& add_session(const std::string& name, const std::string& upstream = "demo") {
        SessionConfig s;
        s.name = name;
        s.upstream = upstream;
        s.limits = config_.global.defaults;
        config_.sessions.push_back(s);
        return config_.sessions.back();
    }
    void start() {
        ASSERT_TRUE(SessionRegistry::check(config_, settings_).empty());
        registry_ = std::make_unique<SessionRegistry>(*loop_, *encoder_, settings_, &metrics_);
        std::string error;
        ASSERT_TRUE(registry_->apply(config_, error)) << error;
    }
    // Runs the event loop until the client thread's work is done.
    void run_client(const std::function<void()>& fn) {
        std::atomic<bool> done{false};
        std::thread t([&] {
            fn();
            done = true;
        });
        loop_->run_until([&] { return done.load(); }, 15s);
        t.join();
    }
    void run_for(Clock::duration d) {
        loop_->run_until([] { return false; }, d);
    }
    // A series' value in what /metrics would serve (exactly `series`, labels included); -1 when
    // absent.
    double metric(const std::string& series) const {
        const std::string text = metrics_.render();
        const std::string key = "\n" + series + " ";
        const size_t at = text.find(key);
        return at == std::string::npos ? -1 : std::stod(text.substr(at + key.size()));
    }

    metrics::Metrics metrics_{"test"};
    std::unique_ptr<EventLoop> loop_;
    std::unique_ptr<rfb::EncodeCache> cache_;
    std::unique_ptr<EncodePool> pool_;
    std::unique_ptr<TileEncodeService> encoder_;
    std::unique_ptr<SessionRegistry> registry_;
    RegistrySettings settings_;
    Config config_;
    int shared_port_ = test::free_loopback_port();
    std::string dir_;
};

TEST_F(SessionRegistryTest, OneSessionOnTheSharedPortIsPlainRfb) {
    add_session("solo");
    start();
    EXPECT_EQ(registry_->shared_port_mode(), SharedPortMode::kSingle);
    std::string name;
    run_client([&] {
        Client c;
        if (c.connect(shared_port_)) name = c.handshake_none();
    });
    EXPECT_EQ(name, "solo");
}

TEST_F(SessionRegistryTest, PasswordPicksTheSessionOnASharedPort) {
    add_session("alpha").password_file = secret_file("a", "alpha-pw");
    add_session("beta").viewonly_password_file = secret_file("b", "beta-pw");
    start();
    ASSERT_EQ(registry_->shared_port_mode(), SharedPortMode::kPassword);
    std::string name_a, name_b, name_wrong;
    uint32_t result_a = 9, result_b = 9, result_wrong = 9;
    run_client([&] {
        Client a, b, wrong;
        if (a.connect(shared_port_)) name_a = a.handshake_password("alpha-pw", &result_a);
        if (b.connect(shared_port_)) name_b = b.handshake_password("beta-pw", &result_b);
        if (wrong.connect(shared_port_))
            name_wrong = wrong.handshake_password("gamma-pw", &result_wrong);
    });
    EXPECT_EQ(result_a, 0u);
    EXPECT_EQ(name_a, "alpha");
    EXPECT_EQ(result_b, 0u);
    EXPECT_EQ(name_b, "beta");
    EXPECT_EQ(result_wrong, 1u);
    EXPECT_EQ(name_wrong, "");
    loop_->run_until([&] { return registry_->find("alpha")->viewer_count() == 0; }, 5s);
    EXPECT_EQ(registry_->find("alpha")->viewer_count(), 0u);  // the clients have gone
}

TEST_F(SessionRegistryTest, SharedPortSessionsWithoutDistinctPasswordsAreAConfigError) {
    add_session("alpha").password_file = secret_file("a", "samepass-1");
    add_session("beta").password_file = secret_file("b", "samepass-2");  // same first 8
    add_session("gamma");                                                // none at all
    const auto problems = SessionRegistry::check(config_, settings_);
    ASSERT_EQ(problems.size(), 2u);
    EXPECT_NE(problems[0].find("first 8 characters"), std::string::npos) << problems[0];
    EXPECT_NE(problems[1].find("'gamma'"), std::string::npos) << problems[1];
}

TEST_F(SessionRegistryTest, RepeaterIdRoutesAndUnknownIdIsRefusedWithAReason) {
    add_session("a").repeater_id = "11";
    add_session("b").repeater_id = "22";
    start();
    ASSERT_EQ(registry_->shared_port_mode(), SharedPortMode::kRepeater);
    std::string name, reason;
    Bytes types_after_refusal = {9};
    run_client([&] {
        Client v;
        if (v.connect(shared_port_) && v.repeater("ID:22")) name = v.handshake_none();
        Client bad;
        if (bad.connect(shared_port_) && bad.repeater("ID:99") &&
            bad.read_text(12) == "RFB 003.008\n" && bad.send("RFB 003.008\n"))
            types_after_refusal = bad.security_types(&reason);
    });
    EXPECT_EQ(name, "b");
    EXPECT_TRUE(types_after_refusal.empty());
    EXPECT_NE(reason.find("repeater ID 99"), std::string::npos) << reason;
    EXPECT_EQ(registry_->stats().repeater_refused, 1u);
    EXPECT_EQ(metric("rfbcast_connections_refused_total{reason=\"unknown_session\"}"), 1);
    EXPECT_EQ(metric("rfbcast_connections_accepted_total{listener=\"viewer\"}"), 2);
    EXPECT_EQ(metric("rfbcast_sessions"), 2);
}

TEST_F(SessionRegistryTest, ModeOneOnlyToAllowedDestinations) {
    add_session("a").repeater_id = "11";
    config_.global.mode1_allow = {"127.0.0.1/32:5999"};
    start();
    std::string reason_port, reason_host;
    run_client([&] {
        Client v;
        if (v.connect(shared_port_) && v.repeater("127.0.0.1::5998") &&
            v.read_text(12) == "RFB 003.008\n" && v.send("RFB 003.008\n"))
            v.security_types(&reason_port);
        Client w;
        if (w.connect(shared_port_) && w.repeater("10.1.2.3::5999") &&
            w.read_text(12) == "RFB 003.008\n" && w.send("RFB 003.008\n"))
            w.security_types(&reason_host);
    });
    EXPECT_NE(reason_port.find("not allowed"), std::string::npos) << reason_port;
    EXPECT_NE(reason_host.find("not allowed"), std::string::npos) << reason_host;
    EXPECT_EQ(registry_->stats().repeater_refused, 2u);
    EXPECT_EQ(registry_->session_count(), 1u);
}

// A fake server that dials the repeater port, names its ID and then serves one picture.
void dial_in_and_serve(int port, const std::string& header, std::atomic<bool>& stop,
                       std::atomic<bool>& served, uint16_t w = 96, uint16_t h = 64) {
    Client c;
    if (!c.connect(port) || !c.send(rfb::make_repeater_header(header))) return;
    const int fd = ::dup(c.fd());
    fake::FakePeer peer(fd, stop);
    if (!peer.handshake(fake::Handshake::k38None, w, h, rfb::PixelFormat::canonical(), "")) return;
    if (!peer.wait_update_request()) return;
    if (!peer.send_raw_frame(w, h, fake::test_picture(w, h, 7))) return;
    served = true;
    peer.wait_for(stop);
}

TEST_F(SessionRegistryTest, ServerDialsInByIdAndViewersSeeIt) {
    const int repeater_port = test::free_loopback_port();
    config_.global.repeater_listen = "127.0.0.1:" + std::to_string(repeater_port);
    add_session("pi", "").repeater_id = "1234";
    start();
    std::atomic<bool> stop{false}, served{false};
    std::thread server([&] { dial_in_and_serve(repeater_port, "ID:1234", stop, served); });
    loop_->run_until([&] { return registry_->find("pi")->has_frame(); }, 10s);
    const Session* s = registry_->find("pi");
    ASSERT_TRUE(s->has_frame());
    EXPECT_EQ(s->framebuffer().width(), 96u);
    const auto picture = fake::test_picture(96, 64, 7);
    EXPECT_EQ(s->framebuffer().at(5, 9), picture[9 * 96 + 5]);
    uint16_t w = 0, h = 0;
    run_client([&] {
        Client v;
        if (v.connect(shared_port_) && v.repeater("ID:1234") &&
            v.read_text(12) == "RFB 003.008\n" && v.send("RFB 003.008\n") &&
            !v.security_types(nullptr).empty() && v.send(Bytes{1}) && v.read_u32() == 0)
            v.client_init(&w, &h);
    });
    EXPECT_EQ(w, 96);
    EXPECT_EQ(h, 64);
    EXPECT_EQ(registry_->stats().servers_dialled_in, 1u);
    stop = true;
    server.join();
}

TEST_F(SessionRegistryTest, IdWithASecretRefusesServersWithoutIt) {
    const int repeater_port = test::free_loopback_port();
    config_.global.repeater_listen = "127.0.0.1:" + std::to_string(repeater_port);
    SessionConfig& pi = add_session("pi", "");
    pi.repeater_id = "1234";
    pi.repeater_secret_file = secret_file("secret", "k9-Secret");
    start();
    std::atomic<bool> stop{false}, served_plain{false}, served_wrong{false}, served_right{false};
    std::thread plain([&] { dial_in_and_serve(repeater_port, "ID:1234", stop, served_plain); });
    std::thread wrong(
        [&] { dial_in_and_serve(repeater_port, "ID:1234:k9-Secreu", stop, served_wrong); });
    loop_->run_until([&] { return registry_->stats().repeater_refused >= 2; }, 10s);
    EXPECT_EQ(registry_->stats().repeater_refused, 2u);
    EXPECT_FALSE(registry_->find("pi")->has_frame());
    std::thread right(
        [&] { dial_in_and_serve(repeater_port, "ID:1234:k9-Secret", stop, served_right); });
    loop_->run_until([&] { return registry_->find("pi")->has_frame(); }, 10s);
    EXPECT_TRUE(registry_->find("pi")->has_frame());
    stop = true;
    plain.join();
    wrong.join();
    right.join();
    EXPECT_FALSE(served_plain);
    EXPECT_FALSE(served_wrong);
    EXPECT_TRUE(served_right);
}

TEST_F(SessionRegistryTest, DynamicIdsCreateSessionsOnlyWhenAllowed) {
    const int repeater_port = test::free_loopback_port();
    config_.global.repeater_listen = "127.0.0.1:" + std::to_string(repeater_port);
    add_session("fixed", "").repeater_id = "1";
    start();
    std::atomic<bool> stop{false}, served{false};
    std::thread refused([&] { dial_in_and_serve(repeater_port, "ID:777", stop, served); });
    loop_->run_until([&] { return registry_->stats().repeater_refused >= 1; }, 10s);
    EXPECT_EQ(registry_->session_count(), 1u);
    stop = true;
    refused.join();

    config_.global.allow_dynamic_ids = true;
    std::string error;
    ASSERT_TRUE(registry_->apply(config_, error)) << error;
    stop = false;
    std::thread accepted([&] { dial_in_and_serve(repeater_port, "ID:777", stop, served); });
    loop_->run_until(
        [&] { return registry_->find("id-777") && registry_->find("id-777")->has_frame(); }, 10s);
    ASSERT_NE(registry_->find("id-777"), nullptr);
    EXPECT_TRUE(registry_->find("id-777")->has_frame());
    stop = true;
    accepted.join();
}

TEST_F(SessionRegistryTest, ReloadAddsAndRemovesSessionsAndKeepsTheOthersViewers) {
    const int port_a = test::free_loopback_port(), port_b = test::free_loopback_port(),
              port_c = test::free_loopback_port();
    add_session("a").listen = "127.0.0.1:" + std::to_string(port_a);
    add_session("b").listen = "127.0.0.1:" + std::to_string(port_b);
    start();
    Client va, vb;
    std::string name_a, name_b;
    run_client([&] {
        if (va.connect(port_a)) name_a = va.handshake_none();
        if (vb.connect(port_b)) name_b = vb.handshake_none();
    });
    ASSERT_EQ(name_a, "a");
    ASSERT_EQ(name_b, "b");
    run_for(50ms);
    ASSERT_EQ(registry_->find("b")->viewer_count(), 1u);

    config_.sessions.erase(config_.sessions.begin());  // a goes
    add_session("c").listen = "127.0.0.1:" + std::to_string(port_c);
    std::string error;
    ASSERT_TRUE(registry_->apply(config_, error)) << error;
    EXPECT_EQ(registry_->find("a"), nullptr);
    ASSERT_NE(registry_->find("c"), nullptr);
    bool a_closed = false, b_open = false;
    std::string name_c;
    run_client([&] {
        a_closed = va.closed_within(3000);
        b_open = !vb.closed_within(300);
        Client vc;
        if (vc.connect(port_c)) name_c = vc.handshake_none();
    });
    EXPECT_TRUE(a_closed);
    EXPECT_TRUE(b_open);
    EXPECT_EQ(name_c, "c");
    EXPECT_EQ(registry_->find("b")->viewer_count(), 1u);
    // a's port is free again: nothing listens there.
    Client again;
    EXPECT_FALSE(again.connect(port_a));
}

// x11vnc -connect HOST:PORT and vncconfig -connect: the server dials the session's reverse port
// and speaks RFB at once, with no repeater field.
TEST_F(SessionRegistryTest, ReversePortMakesTheServerTheUpstream) {
    const int reverse_port = test::free_loopback_port();
    add_session("desk", "").reverse_listen = "127.0.0.1:" + std::to_string(reverse_port);
    start();
    std::atomic<bool> stop{false};
    std::thread server([&] {
        Client c;
        if (!c.connect(reverse_port)) return;
        fake::FakePeer peer(::dup(c.fd()), stop);
        if (peer.handshake(fake::Handshake::k38None, 64, 48, rfb::PixelFormat::canonical(), "") &&
            peer.wait_update_request())
            peer.send_raw_frame(64, 48, fake::test_picture(64, 48, 3));
        peer.wait_for(stop);
    });
    loop_->run_until([&] { return registry_->find("desk")->has_frame(); }, 10s);
    ASSERT_TRUE(registry_->find("desk")->has_frame());
    EXPECT_EQ(registry_->find("desk")->framebuffer().at(10, 20),
              fake::test_picture(64, 48, 3)[20 * 64 + 10]);
    stop = true;
    server.join();
}

// A home router restarts: the server dials in again before the old connection is known dead.
// The new connection replaces the old one and the viewer stays, now seeing the new pictures.
TEST_F(SessionRegistryTest, ServerThatDialsAgainReplacesItselfAndViewersStay) {
    const int repeater_port = test::free_loopback_port();
    config_.global.repeater_listen = "127.0.0.1:" + std::to_string(repeater_port);
    add_session("pi", "").repeater_id = "5";
    start();
    std::atomic<bool> stop1{false}, stop2{false}, served1{false}, served2{false};
    std::thread first([&] { dial_in_and_serve(repeater_port, "ID:5", stop1, served1, 80, 60); });
    loop_->run_until([&] { return served1 && registry_->find("pi")->has_frame(); }, 10s);
    ASSERT_TRUE(served1);
    Client viewer;
    std::string name;
    run_client([&] {
        if (viewer.connect(shared_port_) && viewer.repeater("ID:5") &&
            viewer.read_text(12) == "RFB 003.008\n" && viewer.send("RFB 003.008\n") &&
            !viewer.security_types(nullptr).empty() && viewer.send(Bytes{1}) &&
            viewer.read_u32() == 0)
            name = viewer.client_init();
    });
    ASSERT_FALSE(name.empty());
    std::thread second([&] { dial_in_and_serve(repeater_port, "ID:5", stop2, served2, 80, 60); });
    loop_->run_until([&] { return served2.load(); }, 10s);
    run_for(100ms);
    EXPECT_TRUE(served2);
    EXPECT_EQ(registry_->stats().servers_dialled_in, 2u);
    EXPECT_EQ(registry_->find("pi")->viewer_count(), 1u);
    bool viewer_open = false;
    run_client([&] { viewer_open = !viewer.closed_within(200); });
    EXPECT_TRUE(viewer_open);
    stop1 = stop2 = true;
    first.join();
    second.join();
}

TEST_F(SessionRegistryTest, ModeOneToAnAllowedDestinationReflectsIt) {
    fake::FakeRfbServer upstream({[](fake::FakePeer& p) {
        if (p.handshake(fake::Handshake::k38None, 72, 40, rfb::PixelFormat::canonical(), "") &&
            p.wait_update_request())
            p.send_raw_frame(72, 40, fake::test_picture(72, 40, 11));
        p.drain();
    }});
    add_session("a").repeater_id = "11";
    config_.global.mode1_allow = {"127.0.0.1/32:" + std::to_string(upstream.port())};
    start();
    uint16_t w = 0, h = 0;
    run_client([&] {
        Client v;
        if (v.connect(shared_port_) &&
            v.repeater("127.0.0.1::" + std::to_string(upstream.port())) &&
            v.read_text(12) == "RFB 003.008\n" && v.send("RFB 003.008\n") &&
            !v.security_types(nullptr).empty() && v.send(Bytes{1}) && v.read_u32() == 0)
            v.client_init(&w, &h);
    });
    EXPECT_EQ(w, 72);
    EXPECT_EQ(h, 40);
    EXPECT_EQ(registry_->session_count(), 2u);
    upstream.stop();
}

TEST_F(SessionRegistryTest, DisplayBaseGivesEachSessionItsPort) {
    const int base = test::free_loopback_port() - 10;
    config_.global.display_base = base;
    add_session("one");
    add_session("seven").display = 7;
    start();
    std::string name1, name7;
    run_client([&] {
        Client a, b;
        if (a.connect(base + 1)) name1 = a.handshake_none();
        if (b.connect(base + 7)) name7 = b.handshake_none();
    });
    EXPECT_EQ(name1, "one");
    EXPECT_EQ(name7, "seven");
}

// keep_upstream_without_viewers = false: the upstream closes after idle_timeout without
// viewers and is dialled again when one comes.
TEST_F(SessionRegistryTest, UpstreamClosesWithoutViewersWhenConfigured) {
    std::atomic<int> closed{0};
    fake::FakeRfbServer upstream({[&](fake::FakePeer& p) {
        if (p.handshake(fake::Handshake::k38None, 64, 64, rfb::PixelFormat::canonical(), "") &&
            p.wait_update_request())
            p.send_raw_frame(64, 64, fake::test_picture(64, 64, 1));
        p.drain();
        ++closed;
    }});
    SessionConfig& s = add_session("lab", "127.0.0.1:" + std::to_string(upstream.port()));
    s.limits.keep_upstream_without_viewers = false;
    s.limits.idle_timeout_s = 1;
    start();
    loop_->run_until([&] { return closed.load() == 1; }, 10s);
    EXPECT_EQ(closed.load(), 1);
    EXPECT_EQ(upstream.accepted(), 1);
    std::string name;
    run_client([&] {
        Client v;
        if (v.connect(shared_port_)) name = v.handshake_none();
    });
    EXPECT_FALSE(name.empty());
    EXPECT_EQ(upstream.accepted(), 2);
    upstream.stop();
}

// A reload that moves a session to another upstream dials the new one; its viewers stay and
// get the new server's pictures.
TEST_F(SessionRegistryTest, ReloadToAnotherUpstreamKeepsTheViewers) {
    auto serve = [](uint32_t seed) {
        return [seed](fake::FakePeer& p) {
            if (p.handshake(fake::Handshake::k38None, 64, 64, rfb::PixelFormat::canonical(), "") &&
                p.wait_update_request())
                p.send_raw_frame(64, 64, fake::test_picture(64, 64, seed));
            p.drain();
        };
    };
    fake::FakeRfbServer first({serve(1)}), second({serve(2)});
    add_session("lab", "127.0.0.1:" + std::to_string(first.port()));
    start();
    const Session* s = registry_->find("lab");
    loop_->run_until([&] { return s->has_frame(); }, 10s);
    ASSERT_TRUE(s->has_frame());
    Client viewer;
    std::string name;
    run_client([&] {
        if (viewer.connect(shared_port_)) name = viewer.handshake_none();
    });
    ASSERT_EQ(name, "fake 3.8/None");  // the upstream's desktop name
    EXPECT_EQ(s->framebuffer().at(3, 3), fake::test_picture(64, 64, 1)[3 * 64 + 3]);

    config_.sessions[0].upstream = "127.0.0.1:" + std::to_string(second.port());
    std::string error;
    ASSERT_TRUE(registry_->apply(config_, error)) << error;
    EXPECT_EQ(registry_->find("lab"), s) << "the session itself stays";
    const uint32_t want = fake::test_picture(64, 64, 2)[3 * 64 + 3];
    loop_->run_until([&] { return s->framebuffer().at(3, 3) == want; }, 10s);
    EXPECT_EQ(s->framebuffer().at(3, 3), want);
    EXPECT_EQ(s->viewer_count(), 1u);
    bool open = false;
    run_client([&] { open = !viewer.closed_within(200); });
    EXPECT_TRUE(open);
    first.stop();
    second.stop();
}

// With a key for dynamic IDs, a server must prove its ID with the token made from it.
TEST_F(SessionRegistryTest, DynamicIdsWithAKeyNeedTheirToken) {
    const int repeater_port = test::free_loopback_port();
    config_.global.repeater_listen = "127.0.0.1:" + std::to_string(repeater_port);
    config_.global.allow_dynamic_ids = true;
    config_.global.dynamic_id_key_file = secret_file("idkey", "a-long-random-key");
    start();
    std::atomic<bool> stop{false}, served_bare{false}, served_wrong{false}, served_token{false};
    std::thread bare([&] { dial_in_and_serve(repeater_port, "ID:42", stop, served_bare); });
    std::thread wrong([&] {
        dial_in_and_serve(repeater_port, "ID:42:" + repeater_token("another-key", "42"), stop,
                          served_wrong);
    });
    loop_->run_until([&] { return registry_->stats().repeater_refused >= 2; }, 10s);
    EXPECT_EQ(registry_->stats().repeater_refused, 2u);
    EXPECT_EQ(registry_->find("id-42"), nullptr);
    std::thread right([&] {
        dial_in_and_serve(repeater_port, "ID:42:" + repeater_token("a-long-random-key", "42"), stop,
                          served_token);
    });
    loop_->run_until(
        [&] { return registry_->find("id-42") && registry_->find("id-42")->has_frame(); }, 10s);
    ASSERT_NE(registry_->find("id-42"), nullptr);
    EXPECT_TRUE(registry_->find("id-42")->has_frame());
    stop = true;
    bare.join();
    wrong.join();
    right.join();
    EXPECT_FALSE(served_bare);
    EXPECT_FALSE(served_wrong);
}

// What a refused viewer is told, after sending its 3.8 version ("" when not refused that way).
std::string refusal_reason(Client& c) {
    if (c.read_text(12) != "RFB 003.008\n" || !c.send("RFB 003.008\n")) return "<no greeting>";
    std::string reason;
    const Bytes types = c.security_types(&reason);
    return types.empty() ? reason : "";
}

// Five wrong passwords from one address, then that address is refused before any challenge is
// issued, with the reason TigerVNC uses; each wrong answer came only after the delay.
TEST_F(SessionRegistryTest, BruteForceIsLockedOutAfterFiveFailures) {
    add_session("lab").password_file = secret_file("pw", "right-pw");
    start();
    std::vector<uint32_t> results;
    std::vector<double> answer_ms;
    std::string sixth, other_right;
    run_client([&] {
        for (int i = 0; i < 5; ++i) {
            Client c;
            uint32_t result = 9;
            if (!c.connect(shared_port_)) return;
            if (c.read_text(12) != "RFB 003.008\n" || !c.send("RFB 003.008\n")) return;
            if (c.security_types(nullptr).empty() || !c.send(Bytes{2})) return;
            Bytes challenge;
            if (!c.read(16, challenge)) return;
            const auto t0 = std::chrono::steady_clock::now();
            c.send(Bytes(16, 0x42));
            result = c.read_u32();
            answer_ms.push_back(
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                    .count());
            results.push_back(result);
        }
        Client locked;
        if (locked.connect(shared_port_)) sixth = refusal_reason(locked);
        // Even the right password is refused while the block lasts.
        Client right;
        uint32_t r = 9;
        if (right.connect(shared_port_)) other_right = right.handshake_password("right-pw", &r);
    });
    EXPECT_EQ(results, std::vector<uint32_t>(5, 1u));
    for (double ms : answer_ms)
        EXPECT_GE(ms, 90.0) << "a wrong password was answered without the delay";
    EXPECT_EQ(sixth, "Too many security failures");
    EXPECT_EQ(other_right, "");
    EXPECT_EQ(registry_->lockout().counters().blocks_started, 1u);
    EXPECT_EQ(metric("rfbcast_auth_failures_total"), 5);
    EXPECT_EQ(metric("rfbcast_lockouts_total"), 1);
    EXPECT_EQ(metric("rfbcast_connections_refused_total{reason=\"auth_failed\"}"), 5);
    EXPECT_EQ(metric("rfbcast_connections_refused_total{reason=\"lockout\"}"), 2);
}

TEST_F(SessionRegistryTest, DenyAndAllowListsRefuseWithAReason) {
    config_.global.deny = {"127.0.0.1/32"};
    add_session("lab");
    start();
    std::string reason;
    run_client([&] {
        Client c;
        if (c.connect(shared_port_)) reason = refusal_reason(c);
    });
    EXPECT_EQ(reason, "your address is not allowed to connect");
    EXPECT_EQ(registry_->stats().refused_by_address, 1u);
    EXPECT_EQ(metric("rfbcast_connections_refused_total{reason=\"allow_list\"}"), 1);
}

// Behind a trusted proxy the PROXY header's client is the one the lists and the lockout see.
TEST_F(SessionRegistryTest, TrustedProxyHeaderNamesTheRealClient) {
    config_.global.trusted_proxies = {"127.0.0.1/32"};
    config_.global.deny = {"203.0.113.7/32"};
    add_session("lab");
    start();
    std::string denied, admitted;
    run_client([&] {
        Client a;
        if (a.connect(shared_port_) && a.send("PROXY TCP4 203.0.113.7 127.0.0.1 5555 5900\r\n"))
            denied = refusal_reason(a);
        Client b;
        if (b.connect(shared_port_) && b.send("PROXY TCP4 198.51.100.1 127.0.0.1 5555 5900\r\n"))
            admitted = b.handshake_none();
        Client garbage;  // a trusted proxy must send a header: no guessing
        if (garbage.connect(shared_port_)) {
            garbage.send("RFB 003.008\n");
            EXPECT_TRUE(garbage.closed_within(3000));
        }
    });
    EXPECT_EQ(denied, "your address is not allowed to connect");
    EXPECT_EQ(admitted, "lab");
}

TEST_F(SessionRegistryTest, PreauthConnectionsPerAddressAreCapped) {
    config_.global.max_preauth_per_address = 2;
    add_session("lab");
    start();
    std::string third, after;
    run_client([&] {
        Client a, b, c;
        if (!a.connect(shared_port_) || !b.connect(shared_port_)) return;
        // a and b sit in their handshakes; c is one too many.
        a.read_text(12);
        b.read_text(12);
        if (c.connect(shared_port_)) third = refusal_reason(c);
        // Once one of them has authenticated, its slot is free again.
        a.send("RFB 003.008\n");
        if (!a.security_types(nullptr).empty() && a.send(Bytes{1}) && a.read_u32() == 0)
            a.client_init();
        Client d;
        if (d.connect(shared_port_)) after = d.handshake_none();
    });
    EXPECT_EQ(third, "too many connections from your address are authenticating");
    EXPECT_EQ(after, "lab");
}

// require_tls per session: its viewers are offered VeNCrypt only; the others keep the choice.
TEST_F(SessionRegistryTest, RequireTlsIsPerSession) {
    ASSERT_NO_FATAL_FAILURE(use_anonymous_tls());
    const int strict_port = test::free_loopback_port(), open_port = test::free_loopback_port();
    SessionConfig& strict = add_session("strict");
    strict.listen = "127.0.0.1:" + std::to_string(strict_port);
    strict.limits.require_tls = true;
    add_session("open").listen = "127.0.0.1:" + std::to_string(open_port);
    start();
    Bytes strict_types, open_types;
    run_client([&] {
        Client a, b;
        if (a.connect(strict_port) && a.read_text(12) == "RFB 003.008\n" && a.send("RFB 003.008\n"))
            strict_types = a.security_types(nullptr);
        if (b.connect(open_port) && b.read_text(12) == "RFB 003.008\n" && b.send("RFB 003.008\n"))
            open_types = b.security_types(nullptr);
    });
    EXPECT_EQ(strict_types, Bytes{19});
    EXPECT_EQ(open_types, (Bytes{19, 1}));

    settings_.session_template.security.reset();  // viewer TLS off: the config cannot hold
    const auto problems = SessionRegistry::check(config_, settings_);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_NE(problems[0].find("'strict': require_tls"), std::string::npos) << problems[0];
}

// The 10 s handshake deadline counts from the connection: a repeater viewer that names its ID
// after 6 s has 4 s left for RFB, not another 10.
TEST_F(SessionRegistryTest, HandshakeDeadlineSpansTheRepeaterPreamble) {
    add_session("a").repeater_id = "11";
    start();
    double closed_after = 0;
    run_client([&] {
        Client v;
        const auto t0 = std::chrono::steady_clock::now();
        if (!v.connect(shared_port_) || v.read_text(12) != "RFB 000.000\n") return;
        std::this_thread::sleep_for(6s);
        if (!v.send(rfb::make_repeater_header("ID:11"))) return;
        if (v.read_text(12) != "RFB 003.008\n") return;  // then silence
        if (v.closed_within(9000))
            closed_after =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    });
    EXPECT_GT(closed_after, 9.5);
    EXPECT_LT(closed_after, 11.5);
}

// A connection that reached the password prompt before its address was locked out gets no
// guess after it: the parallel connections of a guesser count together.
TEST_F(SessionRegistryTest, LockoutThatStartsMeanwhileRefusesTheWaitingGuess) {
    add_session("lab").password_file = secret_file("pw", "right-pw");
    start();
    uint32_t late_result = 9;
    std::string late_reason;
    run_client([&] {
        Client late;
        Bytes challenge;
        if (!late.connect(shared_port_) || late.read_text(12) != "RFB 003.008\n" ||
            !late.send("RFB 003.008\n") || late.security_types(nullptr).empty() ||
            !late.send(Bytes{2}) || !late.read(16, challenge))
            return;
        for (int i = 0; i < 5; ++i) {
            Client c;
            uint32_t r = 9;
            if (c.connect(shared_port_)) c.handshake_password("wrong", &r);
        }
        const auto response =
            rfb::vnc_auth_response(std::span<const uint8_t, 16>(challenge.data(), 16), "right-pw");
        late.send(Bytes(response.begin(), response.end()));
        late_result = late.read_u32();
        const uint32_t len = late.read_u32();
        if (len < 1000) late_reason = late.read_text(len);
    });
    EXPECT_EQ(late_result, 1u);
    EXPECT_EQ(late_reason, "Too many security failures");
    EXPECT_EQ(registry_->lockout().counters().blocks_started, 1u);
}

TEST_F(SessionRegistryTest, SecurityTypesArePerSession) {
    ASSERT_NO_FATAL_FAILURE(use_anonymous_tls());
    const int clear_port = test::free_loopback_port(), tls_port = test::free_loopback_port();
    SessionConfig& clear = add_session("clear");
    clear.listen = "127.0.0.1:" + std::to_string(clear_port);
    clear.password_file = secret_file("pw1", "password1");
    clear.limits.security_types = kSecVncAuth;
    SessionConfig& tls = add_session("tls");
    tls.listen = "127.0.0.1:" + std::to_string(tls_port);
    tls.password_file = secret_file("pw2", "password2");
    tls.limits.security_types = kSecTlsVnc | kSecX509Vnc;
    start();
    Bytes clear_types, tls_types, subtypes;
    run_client([&] {
        Client a, b;
        if (a.connect(clear_port) && a.read_text(12) == "RFB 003.008\n" && a.send("RFB 003.008\n"))
            clear_types = a.security_types(nullptr);
        if (b.connect(tls_port) && b.read_text(12) == "RFB 003.008\n" && b.send("RFB 003.008\n"))
            tls_types = b.security_types(nullptr);
        // VeNCrypt 0.2: the sub-type list names TLSVnc alone (no certificate, so no X509Vnc).
        if (b.send(Bytes{19}) && b.read(2, subtypes) && b.send(Bytes{0, 2})) b.read(6, subtypes);
    });
    EXPECT_EQ(clear_types, Bytes{2});
    EXPECT_EQ(tls_types, Bytes{19});
    EXPECT_EQ(subtypes, (Bytes{0, 1, 0, 0, 1, 2}));  // accepted, 1 sub-type, 258 = TLSVnc

    // Only X509 sub-types, but no certificate: nothing a viewer could use.
    tls.limits.security_types = kSecX509Vnc;
    const auto problems = SessionRegistry::check(config_, settings_);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_NE(problems[0].find("'tls': security_types x509vnc leaves no security type"),
              std::string::npos)
        << problems[0];
}

// SIGTERM's drain: the viewer watching gets its update and then the end of the stream; a viewer
// arriving meanwhile is refused with a reason; the session's viewer gauge follows. Each step
// waits for the one before it (no fixed sleeps), so a loaded machine cannot reorder them.
TEST_F(SessionRegistryTest, DrainClosesViewersAfterTheirUpdateAndRefusesNewOnes) {
    add_session("lab");
    start();
    std::string name, late_reason;
    bool closed = false;
    uint64_t update_pixels = 0, screen_pixels = 0;
    std::atomic<bool> watching{false}, go{false};
    std::thread client([&] {
        Client c;
        if (!c.connect(shared_port_)) return;
        uint16_t w = 0, h = 0;
        name = c.handshake_none(&w, &h);
        screen_pixels = uint64_t{w} * h;
        watching = true;
        while (!go)
            std::this_thread::sleep_for(5ms);
        // Raw only, everything: the update that is under way when the drain starts.
        c.send(Bytes{2, 0, 0, 1, 0, 0, 0, 0});
        c.send(Bytes{3, 0, 0, 0, 0, 0, 0, 64, 0, 64});
        // It arrives whole (every rectangle's pixels, 4 bytes each), and then the stream ends.
        Bytes head, pixels;
        if (!c.read(4, head) || head[0] != 0) return;
        const unsigned rects = unsigned{head[2]} << 8 | head[3];
        for (unsigned i = 0; i < rects; ++i) {
            if (!c.read(12, head)) return;
            const uint64_t area = uint64_t(head[4] << 8 | head[5]) * (head[6] << 8 | head[7]);
            if (!c.read(area * 4, pixels)) return;
            update_pixels += area;
        }
        closed = c.closed_within(5000);
        Client late;
        if (late.connect(shared_port_)) late_reason = refusal_reason(late);
    });
    const std::string frames = "rfbcast_frames_sent_total{session=\"lab\"}";
    loop_->run_until([&] { return watching.load(); }, 5s);
    EXPECT_EQ(metric("rfbcast_viewers{session=\"lab\"}"), 1);
    EXPECT_EQ(metric(frames), 0);
    registry_->set_draining();  // refuse newcomers first, so the viewer's request is served...
    go = true;
    loop_->run_until([&] { return metric(frames) == 1; }, 5s);
    EXPECT_EQ(metric(frames), 1);
    registry_->drain("rfbcast is shutting down");  // ...and then it is closed once it is served
    loop_->run_until([&] { return !late_reason.empty(); }, 5s);
    client.join();
    EXPECT_EQ(name, "lab");
    EXPECT_TRUE(closed);
    // rfbcast answers a first request with the whole screen, whatever region it names.
    EXPECT_GT(screen_pixels, 0u);
    EXPECT_EQ(update_pixels, screen_pixels);
    EXPECT_EQ(late_reason, "rfbcast is shutting down");
    EXPECT_EQ(metric("rfbcast_connections_refused_total{reason=\"draining\"}"), 1);
    EXPECT_EQ(registry_->total_viewers(), 0u);
    EXPECT_EQ(metric("rfbcast_viewers{session=\"lab\"}"), 0);
}

// Issue 7's limits are configurable: a session's handshake_timeout closes a silent viewer at
// that time, not at the default 10 s, and its max_cut_text refuses clipboard text one byte
// over it while text at the cap reaches the session.
TEST_F(SessionRegistryTest, ConfiguredHandshakeTimeoutAndCutTextLimitApply) {
    config_.global.defaults.handshake_timeout_s = 1;
    config_.global.defaults.max_cut_text = 1024;
    add_session("lab");
    start();
    auto cut_text = [](size_t n) {
        Bytes b{6, 0, 0, 0, 0, 0, uint8_t(n >> 8), uint8_t(n)};
        b.resize(b.size() + n, 'x');
        return b;
    };
    bool silent_open_at_half = false, silent_closed = false, at_cap_open = false,
         over_cap_closed = false;
    double silent_closed_after = 0;
    run_client([&] {
        Client silent;
        if (!silent.connect(shared_port_) || silent.read_text(12) != "RFB 003.008\n") return;
        const auto t0 = std::chrono::steady_clock::now();
        silent_open_at_half = !silent.closed_within(500);
        silent_closed = silent.closed_within(3000);
        silent_closed_after =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

        Client at_cap, over_cap;
        if (at_cap.connect(shared_port_) && at_cap.handshake_none() == "lab") {
            at_cap.send(cut_text(1024));
            at_cap_open = !at_cap.closed_within(300);
        }
        if (over_cap.connect(shared_port_) && over_cap.handshake_none() == "lab") {
            over_cap.send(cut_text(1025));
            over_cap_closed = over_cap.closed_within(3000);
        }
    });
    EXPECT_TRUE(silent_open_at_half);
    EXPECT_TRUE(silent_closed);
    EXPECT_LT(silent_closed_after, 3.0);  // 1 s, not the default 10
    EXPECT_TRUE(at_cap_open);
    EXPECT_TRUE(over_cap_closed);
    EXPECT_EQ(metric("rfbcast_limit_triggered_total{limit=\"handshake_deadline\"}"), 1);
    EXPECT_EQ(metric("rfbcast_limit_triggered_total{limit=\"cut_text\"}"), 1);
}

}  // namespace
}  // namespace rfbcast
