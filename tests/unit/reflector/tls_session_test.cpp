// TlsSession client <-> server in memory (anonymous and X509, verification failures with their
// messages, caps, records split anywhere), and TLS inside Connection over a socketpair on a real
// event loop (start_tls with ciphertext that came in the same recv as the last clear bytes,
// large transfers through small buffers, failures reaching on_closed).
#include "reflector/tls_session.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "reflector/connection.h"
#include "reflector/event_loop.h"

namespace rfbcast {
namespace {

using Bytes = std::vector<uint8_t>;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Test PKI made with GnuTLS itself: a CA, a server certificate it signed (DNS localhost, IP
// 127.0.0.1), a second unrelated CA, and an expired server certificate.

struct KeyPair {
    gnutls_x509_privkey_t key = nullptr;
    gnutls_x509_crt_t crt = nullptr;
    ~KeyPair() {
        if (crt) gnutls_x509_crt_deinit(crt);
        if (key) gnutls_x509_privkey_deinit(key);
    }
};

#define GT_OK(expr) ASSERT_GE((expr), 0) << #expr

void make_cert(KeyPair& kp, const char* dn, bool ca, const KeyPair* issuer, time_t not_before,
               time_t not_after, unsigned serial) {
    GT_OK(gnutls_x509_privkey_init(&kp.key));
    GT_OK(gnutls_x509_privkey_generate(kp.key, GNUTLS_PK_ECDSA,
                                       GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0));
    GT_OK(gnutls_x509_crt_init(&kp.crt));
    GT_OK(gnutls_x509_crt_set_version(kp.crt, 3));
    const unsigned char serial_bytes[] = {static_cast<unsigned char>(serial), 0x42};
    GT_OK(gnutls_x509_crt_set_serial(kp.crt, serial_bytes, sizeof serial_bytes));
    GT_OK(gnutls_x509_crt_set_activation_time(kp.crt, not_before));
    GT_OK(gnutls_x509_crt_set_expiration_time(kp.crt, not_after));
    const char* err = nullptr;
    GT_OK(gnutls_x509_crt_set_dn(kp.crt, dn, &err));
    GT_OK(gnutls_x509_crt_set_key(kp.crt, kp.key));
    if (ca) {
        GT_OK(gnutls_x509_crt_set_basic_constraints(kp.crt, 1, -1));
        GT_OK(gnutls_x509_crt_set_key_usage(
            kp.crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN | GNUTLS_KEY_DIGITAL_SIGNATURE));
    } else {
        GT_OK(gnutls_x509_crt_set_basic_constraints(kp.crt, 0, -1));
        GT_OK(gnutls_x509_crt_set_key_usage(kp.crt, GNUTLS_KEY_DIGITAL_SIGNATURE));
        GT_OK(gnutls_x509_crt_set_key_purpose_oid(kp.crt, GNUTLS_KP_TLS_WWW_SERVER, 0));
        GT_OK(gnutls_x509_crt_set_subject_alt_name(kp.crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
                                                   GNUTLS_FSAN_APPEND));
        const unsigned char ip[] = {127, 0, 0, 1};
        GT_OK(gnutls_x509_crt_set_subject_alt_name(kp.crt, GNUTLS_SAN_IPADDRESS, ip, 4,
                                                   GNUTLS_FSAN_APPEND));
    }
    unsigned char id[64];
    size_t id_size = sizeof id;
    GT_OK(gnutls_x509_crt_get_key_id(kp.crt, 0, id, &id_size));
    GT_OK(gnutls_x509_crt_set_subject_key_id(kp.crt, id, id_size));
    const KeyPair& signer = issuer ? *issuer : kp;
    if (issuer) {
        unsigned char aid[64];
        size_t aid_size = sizeof aid;
        GT_OK(gnutls_x509_crt_get_subject_key_id(issuer->crt, aid, &aid_size, nullptr));
        GT_OK(gnutls_x509_crt_set_authority_key_id(kp.crt, aid, aid_size));
    }
    GT_OK(gnutls_x509_crt_sign2(kp.crt, signer.crt, signer.key, GNUTLS_DIG_SHA256, 0));
}

std::string pem(gnutls_x509_crt_t crt) {
    gnutls_datum_t d{};
    if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d) < 0) return {};
    std::string s(reinterpret_cast<const char*>(d.data), d.size);
    gnutls_free(d.data);
    return s;
}
std::string pem(gnutls_x509_privkey_t key) {
    gnutls_datum_t d{};
    if (gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d) < 0) return {};
    std::string s(reinterpret_cast<const char*>(d.data), d.size);
    gnutls_free(d.data);
    return s;
}

void write(const std::string& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
}

// Files in a fresh temporary directory, made once for the whole test binary.
class Pki {
  public:
    static const Pki& get() {
        static Pki pki;
        return pki;
    }
    std::string dir, ca, other_ca, cert, key, expired_cert, expired_key, garbage;

  private:
    Pki() {
        char tmpl[] = "/tmp/rfbcast-tls-test-XXXXXX";
        dir = mkdtemp(tmpl);
        const time_t now = time(nullptr);
        KeyPair root, other, server, old;
        make_cert(root, "CN=rfbcast test CA", true, nullptr, now - 3600, now + 86400, 1);
        make_cert(other, "CN=someone else's CA", true, nullptr, now - 3600, now + 86400, 2);
        make_cert(server, "CN=localhost", false, &root, now - 3600, now + 86400, 3);
        make_cert(old, "CN=localhost", false, &root, now - 7 * 86400, now - 86400, 4);
        ca = dir + "/ca.pem";
        other_ca = dir + "/other-ca.pem";
        cert = dir + "/server.pem";
        key = dir + "/server.key";
        expired_cert = dir + "/expired.pem";
        expired_key = dir + "/expired.key";
        garbage = dir + "/garbage.pem";
        write(ca, pem(root.crt));
        write(other_ca, pem(other.crt));
        write(cert, pem(server.crt));
        write(key, pem(server.key));
        write(expired_cert, pem(old.crt));
        write(expired_key, pem(old.key));
        write(garbage, "this is not a certificate\n");
    }
    ~Pki() { std::filesystem::remove_all(dir); }
};

std::shared_ptr<const TlsCredentials> creds(TlsRole role, TlsAuth auth, std::string ca = {},
                                            std::string cert = {}, std::string key = {}) {
    std::string error;
    auto c = TlsCredentials::create(
        TlsCredentialsConfig{role, auth, std::move(ca), std::move(cert), std::move(key)}, &error);
    EXPECT_TRUE(c) << error;
    return c;
}

std::shared_ptr<const TlsCredentials> anon_client() {
    return creds(TlsRole::kClient, TlsAuth::kAnonymous);
}
std::shared_ptr<const TlsCredentials> anon_server() {
    return creds(TlsRole::kServer, TlsAuth::kAnonymous);
}
std::shared_ptr<const TlsCredentials> x509_client(const std::string& ca) {
    return creds(TlsRole::kClient, TlsAuth::kX509, ca);
}
std::shared_ptr<const TlsCredentials> x509_server(bool expired = false) {
    const Pki& p = Pki::get();
    return creds(TlsRole::kServer, TlsAuth::kX509, {}, expired ? p.expired_cert : p.cert,
                 expired ? p.expired_key : p.key);
}

std::unique_ptr<TlsSession> session(std::shared_ptr<const TlsCredentials> c,
                                    TlsSessionOptions o = {}) {
    std::string error;
    auto s = TlsSession::create(std::move(c), o, &error);
    EXPECT_TRUE(s) << error;
    return s;
}

// ---------------------------------------------------------------------------------------------
// Two sessions back to back in memory.

struct Side {
    std::unique_ptr<TlsSession> tls;
    Bytes inbox = {};  // ciphertext from the peer, not yet taken
    Bytes plain = {};  // what was decrypted
    size_t room = 64 * 1024;
    size_t chunk = 0;  // ciphertext handed per read (0: all)
    bool closed = false;
};

// Shuttles ciphertext both ways until neither side has anything to do (or one failed).
void pump(Side& a, Side& b, int max_rounds = 100000) {
    for (int round = 0; round < max_rounds; ++round) {
        bool progress = false;
        for (auto [self, peer] : {std::pair<Side*, Side*>{&a, &b}, {&b, &a}}) {
            if (self->tls->has_output()) {
                const Bytes out = self->tls->take_output();
                peer->inbox.insert(peer->inbox.end(), out.begin(), out.end());
                progress = true;
            }
            if (self->tls->failed()) continue;  // its alert (if any) still goes out above
            const size_t n =
                self->chunk ? std::min(self->chunk, self->inbox.size()) : self->inbox.size();
            if (n == 0 && !self->tls->pending() && self->tls->handshake_done()) continue;
            Bytes buf(self->room);
            const TlsSession::ReadResult r =
                self->tls->read({self->inbox.data(), n}, buf.data(), buf.size());
            self->inbox.erase(self->inbox.begin(), self->inbox.begin() + r.consumed);
            self->plain.insert(self->plain.end(), buf.begin(), buf.begin() + r.produced);
            self->closed |= r.closed;
            progress |= r.failed || r.consumed > 0 || r.produced > 0 || r.handshake_completed ||
                        self->tls->has_output();
        }
        if (!progress) return;
    }
}

bool handshake(Side& client, Side& server) {
    pump(client, server);
    return client.tls->handshake_done() && server.tls->handshake_done();
}

Bytes pattern(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    Bytes b(n);
    for (auto& x : b)
        x = static_cast<uint8_t>(rng());
    return b;
}

void exchange_data(Side& client, Side& server) {
    const Bytes up = pattern(100000, 1), down = pattern(300000, 2);
    ASSERT_TRUE(client.tls->write(up));
    server.tls->cork();
    for (size_t off = 0; off < down.size(); off += 1000)  // many small writes, corked
        ASSERT_TRUE(
            server.tls->write({down.data() + off, std::min<size_t>(1000, down.size() - off)}));
    ASSERT_TRUE(server.tls->uncork());
    pump(client, server);
    EXPECT_EQ(server.plain, up);
    EXPECT_EQ(client.plain, down);
}

TEST(TlsSession, AnonymousHandshakeAndData) {
    Side c{session(anon_client())}, s{session(anon_server())};
    ASSERT_TRUE(handshake(c, s)) << c.tls->error() << " / " << s.tls->error();
    // Anonymous key exchange does not exist in TLS 1.3: this is TigerVNC's TLS 1.2 ANON-ECDH.
    EXPECT_NE(c.tls->description().find("TLS1.2"), std::string::npos) << c.tls->description();
    EXPECT_NE(c.tls->description().find("ANON-ECDH"), std::string::npos) << c.tls->description();
    exchange_data(c, s);
}

TEST(TlsSession, AnonymousDhWhenEcdhIsOff) {
    TlsSessionOptions o;
    o.priority = "NORMAL:-VERS-TLS1.3:+ANON-DH:-ECDHE-RSA:-ECDHE-ECDSA";
    Side c{session(anon_client(), o)}, s{session(anon_server())};
    ASSERT_TRUE(handshake(c, s)) << c.tls->error() << " / " << s.tls->error();
    EXPECT_NE(c.tls->description().find("ANON-DH"), std::string::npos) << c.tls->description();
    exchange_data(c, s);
}

TEST(TlsSession, X509VerifiedByNameAndByAddress) {
    for (const char* host : {"localhost", "127.0.0.1", ""}) {
        SCOPED_TRACE(host);
        TlsSessionOptions o;
        o.hostname = host;
        Side c{session(x509_client(Pki::get().ca), o)}, s{session(x509_server())};
        ASSERT_TRUE(handshake(c, s)) << c.tls->error() << " / " << s.tls->error();
        EXPECT_NE(c.tls->description().find("TLS1.3"), std::string::npos) << c.tls->description();
        exchange_data(c, s);
    }
}

TEST(TlsSession, X509OverTls12) {
    TlsSessionOptions o;
    o.hostname = "localhost";
    o.priority = "NORMAL:-VERS-TLS1.3";
    Side c{session(x509_client(Pki::get().ca), o)}, s{session(x509_server())};
    ASSERT_TRUE(handshake(c, s)) << c.tls->error() << " / " << s.tls->error();
    EXPECT_NE(c.tls->description().find("TLS1.2"), std::string::npos) << c.tls->description();
    exchange_data(c, s);
}

// The client's error after a handshake against `server`, expected to fail.
std::string client_failure(std::shared_ptr<const TlsCredentials> client_creds,
                           std::shared_ptr<const TlsCredentials> server_creds,
                           const std::string& host = "localhost") {
    TlsSessionOptions o;
    o.hostname = host;
    Side c{session(std::move(client_creds), o)}, s{session(std::move(server_creds))};
    pump(c, s);
    EXPECT_FALSE(c.tls->handshake_done());
    EXPECT_TRUE(c.tls->failed());
    return c.tls->error();
}

TEST(TlsSession, WrongCaFailsWithTheVerificationStatus) {
    const std::string e = client_failure(x509_client(Pki::get().other_ca), x509_server());
    EXPECT_NE(e.find("TLS handshake failed"), std::string::npos) << e;
    EXPECT_NE(e.find("certificate verification"), std::string::npos) << e;
    EXPECT_NE(e.find("issuer is unknown"), std::string::npos) << e;
    EXPECT_NE(e.find("NOT trusted"), std::string::npos) << e;
}

TEST(TlsSession, WrongHostnameFails) {
    const std::string e =
        client_failure(x509_client(Pki::get().ca), x509_server(), "vnc.example.org");
    EXPECT_NE(e.find("does not match"), std::string::npos) << e;
    const std::string ip = client_failure(x509_client(Pki::get().ca), x509_server(), "10.1.2.3");
    EXPECT_NE(ip.find("does not match"), std::string::npos) << ip;
}

TEST(TlsSession, ExpiredCertificateFails) {
    const std::string e = client_failure(x509_client(Pki::get().ca), x509_server(true));
    EXPECT_NE(e.find("expired"), std::string::npos) << e;
}

TEST(TlsSession, AnonymousClientMeetsCertificateOnlyServer) {
    const std::string e = client_failure(anon_client(), x509_server());
    EXPECT_NE(e.find("TLS handshake failed"), std::string::npos) << e;
}

TEST(TlsSession, CredentialErrorsNameTheFile) {
    const Pki& p = Pki::get();
    std::string error;
    auto c =
        TlsCredentials::create({TlsRole::kClient, TlsAuth::kX509, p.dir + "/missing.pem"}, &error);
    EXPECT_FALSE(c);
    EXPECT_NE(error.find("missing.pem"), std::string::npos) << error;
    c = TlsCredentials::create({TlsRole::kClient, TlsAuth::kX509, p.garbage}, &error);
    EXPECT_FALSE(c);
    EXPECT_NE(error.find("garbage.pem"), std::string::npos) << error;
    c = TlsCredentials::create({TlsRole::kClient, TlsAuth::kX509, ""}, &error);
    EXPECT_FALSE(c);
    c = TlsCredentials::create({TlsRole::kServer, TlsAuth::kX509, {}, p.cert, p.garbage}, &error);
    EXPECT_FALSE(c);
    EXPECT_NE(error.find("garbage.pem"), std::string::npos) << error;
    // A key that does not belong to the certificate.
    c = TlsCredentials::create({TlsRole::kServer, TlsAuth::kX509, {}, p.cert, p.expired_key},
                               &error);
    EXPECT_FALSE(c);
    std::string perr;
    TlsSessionOptions bad;
    bad.priority = "NORMAL:+NONSENSE";
    EXPECT_FALSE(TlsSession::create(anon_client(), bad, &perr));
    EXPECT_NE(perr.find("NONSENSE"), std::string::npos) << perr;
}

TEST(TlsSession, CiphertextSplitAtEveryByteAndTinyPlaintextRoom) {
    Side c{session(anon_client())}, s{session(anon_server())};
    c.chunk = 1;  // records arrive a byte at a time
    s.chunk = 7;
    c.room = 3;  // and are read out three bytes at a time: GnuTLS keeps the rest (pending())
    ASSERT_TRUE(handshake(c, s)) << c.tls->error() << " / " << s.tls->error();
    const Bytes down = pattern(40000, 3);
    ASSERT_TRUE(s.tls->write(down));
    pump(c, s);
    EXPECT_EQ(c.plain, down);
}

TEST(TlsSession, GarbageIsAnErrorNotACrash) {
    std::mt19937 rng(5);
    for (int i = 0; i < 200; ++i) {
        Side s{session(i % 2 ? anon_server() : x509_server())};
        Bytes junk = pattern(1 + rng() % 600, static_cast<uint32_t>(i));
        if (i % 3 == 0) junk[0] = 0x16;  // looks like a handshake record
        Bytes buf(1024);
        const TlsSession::ReadResult r = s.tls->read(junk, buf.data(), buf.size());
        EXPECT_EQ(r.produced, 0u);
        if (r.failed) {
            EXPECT_FALSE(s.tls->error().empty());
        }
    }
    // After an established session, a corrupted record fails the session.
    Side c{session(anon_client())}, s{session(anon_server())};
    ASSERT_TRUE(handshake(c, s));
    ASSERT_TRUE(s.tls->write(pattern(100, 9)));
    Bytes rec = s.tls->take_output();
    rec[rec.size() - 3] ^= 0x55;
    Bytes buf(1024);
    const TlsSession::ReadResult r = c.tls->read(rec, buf.data(), buf.size());
    EXPECT_TRUE(r.failed);
    EXPECT_NE(c.tls->error().find("TLS receive failed"), std::string::npos) << c.tls->error();
}

TEST(TlsSession, OutputCapFailsTheHandshake) {
    TlsSessionOptions o;
    o.max_output = 64;  // smaller than a ClientHello
    Side c{session(anon_client(), o)}, s{session(anon_server())};
    pump(c, s);
    EXPECT_TRUE(c.tls->failed());
    EXPECT_NE(c.tls->error().find("cap"), std::string::npos) << c.tls->error();
}

TEST(TlsSession, CloseNotifyAndWriteBeforeHandshake) {
    Side c{session(anon_client())}, s{session(anon_server())};
    EXPECT_FALSE(c.tls->write(Bytes{1, 2, 3}));
    EXPECT_TRUE(c.tls->failed());
    Side c2{session(anon_client())};
    ASSERT_TRUE(handshake(c2, s));
    s.tls->close_notify();
    pump(c2, s);
    EXPECT_TRUE(c2.closed);
}

// ---------------------------------------------------------------------------------------------
// TLS inside Connection, on a real event loop over a socketpair.

struct TestOwner : ConnectionOwner {
    std::function<void(Connection&)> data, ready;
    std::string closed_reason;
    bool closed = false, tls_ready = false;
    void on_data(Connection& c) override {
        if (data) data(c);
    }
    void on_tls_ready(Connection& c) override {
        tls_ready = true;
        if (ready) ready(c);
    }
    void on_closed(Connection&, const std::string& reason) override {
        closed = true;
        closed_reason = reason;
    }
};

class ConnectionTls : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string error;
        loop_ = EventLoop::create(256, &error);
        if (!loop_) GTEST_SKIP() << "no io_uring here: " << error;
        int fds[2];
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        fds_[0] = fds[0];
        fds_[1] = fds[1];
    }
    void TearDown() override {
        // After on_closed a connection is gone: only the others are closed here.
        if (client_ && !client_owner_.closed) client_->close();
        if (server_ && !server_owner_.closed) server_->close();
        if (loop_) loop_->run_until([] { return false; }, 50ms);
    }
    void make(Connection::Limits client_limits = {}, Connection::Limits server_limits = {}) {
        client_ = new Connection(*loop_, fds_[0], &client_owner_, client_limits, "client");
        server_ = new Connection(*loop_, fds_[1], &server_owner_, server_limits, "server");
    }
    bool run(const std::function<bool()>& done, std::chrono::milliseconds max = 10s) {
        loop_->run_until(done, max);
        return done();
    }

    std::unique_ptr<EventLoop> loop_;
    int fds_[2] = {-1, -1};
    TestOwner client_owner_, server_owner_;
    Connection* client_ = nullptr;
    Connection* server_ = nullptr;
};

// Plain "STARTTLS\n" from the client, which switches at once without waiting for an answer:
// its ClientHello reaches the server in the same recv as the clear bytes (the server only starts
// reading once both are in the socket). Then data is echoed through TLS both ways.
TEST_F(ConnectionTls, StartTlsWithCiphertextInTheSameRecvAndEcho) {
    Connection::Limits small;
    small.rx_chunk = 4096;
    small.rx_cap = 64 * 1024;  // far below the transfer: the consumer keeps up, TLS must too
    make(small, small);
    const Bytes payload = pattern(3 * 1024 * 1024 + 17, 7);
    Bytes echoed;
    bool server_tls = false;
    server_owner_.data = [&](Connection& c) {
        if (!server_tls) {
            const auto rx = c.rx();
            ASSERT_GE(rx.size(), 9u);
            ASSERT_EQ(std::string(rx.begin(), rx.begin() + 9), "STARTTLS\n");
            EXPECT_GT(rx.size(), 9u) << "the ClientHello was meant to arrive with it";
            c.consume(9);
            c.start_tls(session(anon_server()));
            server_tls = true;
            return;
        }
        c.send_copy(c.rx());  // echo
        c.consume(c.rx().size());
    };
    client_owner_.data = [&](Connection& c) {
        echoed.insert(echoed.end(), c.rx().begin(), c.rx().end());
        c.consume(c.rx().size());
    };
    client_owner_.ready = [&](Connection& c) {
        // Sent in pieces of different sizes, some shared, some copied.
        size_t off = 0;
        for (size_t n = 1; off < payload.size(); n = n * 3 + 1) {
            const size_t take = std::min(n % 200000 + 1, payload.size() - off);
            c.send_copy({payload.data() + off, take});
            off += take;
        }
    };
    client_->start();
    client_->send_copy(Bytes{'S', 'T', 'A', 'R', 'T', 'T', 'L', 'S', '\n'});
    client_->start_tls(session(anon_client()));
    // Let both flights sit in the socket before the server reads anything.
    ASSERT_FALSE(run([] { return false; }, 100ms));
    server_->start();
    ASSERT_TRUE(run([&] { return echoed.size() >= payload.size() || client_owner_.closed; }, 30s))
        << echoed.size() << " " << client_owner_.closed_reason << " / "
        << server_owner_.closed_reason;
    EXPECT_TRUE(client_owner_.tls_ready);
    EXPECT_TRUE(echoed == payload);
    EXPECT_NE(client_->tls()->description().find("TLS1.2"), std::string::npos);
    EXPECT_LE(client_->rx_buffer_size(), 2 * small.rx_cap);
    EXPECT_EQ(client_->queued_bytes(), 0u);
}

TEST_F(ConnectionTls, DataSentBeforeTheHandshakeEndsWaitsForIt) {
    make();
    std::string got;
    server_owner_.data = [&](Connection& c) {
        got.append(c.rx().begin(), c.rx().end());
        c.consume(c.rx().size());
    };
    server_->start_tls(session(anon_server()));
    server_->start();
    client_->start();
    client_->start_tls(session(anon_client()));
    client_->send_copy(Bytes{'h', 'i'});  // queued as plaintext until the handshake is done
    ASSERT_TRUE(run([&] { return got == "hi" || server_owner_.closed; })) << got;
    EXPECT_TRUE(server_owner_.tls_ready);
}

TEST_F(ConnectionTls, VerificationFailureReachesOnClosed) {
    make();
    server_->start_tls(session(x509_server()));
    server_->start();
    client_->start();
    TlsSessionOptions o;
    o.hostname = "localhost";
    client_->start_tls(session(x509_client(Pki::get().other_ca), o));
    ASSERT_TRUE(run([&] { return client_owner_.closed; }));
    client_ = nullptr;  // gone after on_closed
    EXPECT_NE(client_owner_.closed_reason.find("certificate verification"), std::string::npos)
        << client_owner_.closed_reason;
    EXPECT_NE(client_owner_.closed_reason.find("issuer is unknown"), std::string::npos)
        << client_owner_.closed_reason;
    EXPECT_FALSE(client_owner_.tls_ready);
    // The server sees the connection end during its handshake.
    ASSERT_TRUE(run([&] { return server_owner_.closed; }));
    server_ = nullptr;
    EXPECT_FALSE(server_owner_.closed_reason.empty());
}

TEST_F(ConnectionTls, OversizedMessageHitsTheCap) {
    Connection::Limits small;
    small.rx_chunk = 4096;
    small.rx_cap = 32 * 1024;
    make(small, {});
    client_owner_.data = [](Connection&) {};  // never consumes: waits for a "whole message"
    server_owner_.ready = [](Connection& c) { c.send_copy(pattern(200 * 1024, 4)); };
    server_->start_tls(session(anon_server()));
    server_->start();
    client_->start();
    client_->start_tls(session(anon_client()));
    ASSERT_TRUE(run([&] { return client_owner_.closed; }));
    client_ = nullptr;
    EXPECT_NE(client_owner_.closed_reason.find("input cap"), std::string::npos)
        << client_owner_.closed_reason;
}

TEST_F(ConnectionTls, CloseWhenSentFlushesThenSaysCloseNotify) {
    make();
    std::string got;
    client_owner_.data = [&](Connection& c) {
        got.append(c.rx().begin(), c.rx().end());
        c.consume(c.rx().size());
    };
    server_owner_.ready = [&](Connection& c) {
        c.send_copy(Bytes{'b', 'y', 'e'});
        c.close_when_sent();
        server_ = nullptr;
    };
    server_->start_tls(session(anon_server()));
    server_->start();
    client_->start();
    client_->start_tls(session(anon_client()));
    ASSERT_TRUE(run([&] { return client_owner_.closed; }));
    client_ = nullptr;
    EXPECT_EQ(got, "bye");
    EXPECT_EQ(client_owner_.closed_reason, "peer closed the TLS session");
}

TEST_F(ConnectionTls, PeerHangsUpDuringHandshake) {
    make();
    client_->start();
    client_->start_tls(session(anon_client()));
    server_->close();  // never answers the ClientHello
    server_ = nullptr;
    ASSERT_TRUE(run([&] { return client_owner_.closed; }));
    client_ = nullptr;
    EXPECT_EQ(client_owner_.closed_reason, "peer closed the connection during the TLS handshake");
}

}  // namespace
}  // namespace rfbcast
