// The TLS parameters viewers get, seen by an independent TLS client: GnuTLS's gnutls-cli. It
// cannot speak RFB itself, so a relay in the test does the RFB and VeNCrypt preamble with
// rfbcast and then passes raw bytes between gnutls-cli and rfbcast, which is TLS from there on.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"

namespace itest {
namespace {

bool read_n(int fd, uint8_t* p, size_t n) {
    size_t got = 0;
    while (got < n) {
        pollfd pf{fd, POLLIN, 0};
        if (::poll(&pf, 1, 5000) <= 0) return false;
        const ssize_t r = ::recv(fd, p + got, n - got, 0);
        if (r <= 0) return false;
        got += static_cast<size_t>(r);
    }
    return true;
}
bool write_all(int fd, const std::vector<uint8_t>& b) {
    return ::send(fd, b.data(), b.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(b.size());
}

// Does the VeNCrypt preamble for `subtype` with rfbcast on `server_fd`; true once the next byte
// on the wire is TLS.
bool vencrypt_preamble(int s, uint32_t subtype, std::string* why) {
    uint8_t buf[256];
    if (!read_n(s, buf, 12) ||
        !write_all(s, {'R', 'F', 'B', ' ', '0', '0', '3', '.', '0', '0', '8', '\n'}))
        return *why = "no RFB greeting", false;
    uint8_t n = 0;
    if (!read_n(s, &n, 1) || n == 0 || !read_n(s, buf, n)) return *why = "no security types", false;
    if (std::memchr(buf, 19, n) == nullptr) return *why = "VeNCrypt not offered", false;
    if (!write_all(s, {19}) || !read_n(s, buf, 2) || buf[0] != 0 || buf[1] != 2)
        return *why = "no VeNCrypt 0.2", false;
    if (!write_all(s, {0, 2}) || !read_n(s, buf, 2) || buf[0] != 0)
        return *why = "version refused", false;
    const uint8_t count = buf[1];
    if (!read_n(s, buf, size_t{count} * 4)) return *why = "no sub-type list", false;
    if (!write_all(s, {static_cast<uint8_t>(subtype >> 24), static_cast<uint8_t>(subtype >> 16),
                       static_cast<uint8_t>(subtype >> 8), static_cast<uint8_t>(subtype)}))
        return *why = "cannot choose", false;
    if (!read_n(s, buf, 1) || buf[0] != 1) return *why = "sub-type not accepted", false;
    return true;
}

// One relayed connection: accepts gnutls-cli on a free port, dials rfbcast, runs the preamble,
// then copies bytes both ways until either side closes.
class TlsRelay {
  public:
    TlsRelay(int rfbcast_port, uint32_t subtype) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(listen_fd_, 1);
        socklen_t len = sizeof a;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this, rfbcast_port, subtype] { run(rfbcast_port, subtype); });
    }
    ~TlsRelay() {
        stop_ = true;
        thread_.join();
        ::close(listen_fd_);
    }
    int port() const { return port_; }
    std::string error() const { return error_; }

  private:
    void run(int rfbcast_port, uint32_t subtype) {
        pollfd lp{listen_fd_, POLLIN, 0};
        if (::poll(&lp, 1, 15000) <= 0) return;
        const int client = ::accept(listen_fd_, nullptr, nullptr);
        const int server = connect_tcp(rfbcast_port, milliseconds(5000));
        if (client < 0 || server < 0 || !vencrypt_preamble(server, subtype, &error_)) {
            if (client >= 0) ::close(client);
            if (server >= 0) ::close(server);
            return;
        }
        pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
        uint8_t buf[16384];
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!stop_ && std::chrono::steady_clock::now() < deadline) {
            if (::poll(p, 2, 100) < 0) break;
            bool done = false;
            for (int i = 0; i < 2; ++i) {
                if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                const ssize_t r = ::recv(p[i].fd, buf, sizeof buf, 0);
                if (r <= 0 || ::send(p[1 - i].fd, buf, static_cast<size_t>(r), MSG_NOSIGNAL) != r)
                    done = true;
            }
            if (done) break;
        }
        ::close(client);
        ::close(server);
    }

    int listen_fd_ = -1, port_ = 0;
    std::atomic<bool> stop_{false};
    std::string error_;
    std::thread thread_;
};

struct CliResult {
    std::optional<int> code;
    std::string out;
};

CliResult gnutls_cli(const TempDir& dir, int port, const std::vector<std::string>& extra,
                     const std::string& tag) {
    std::vector<std::string> argv = {"/usr/bin/gnutls-cli", "-p", std::to_string(port)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("127.0.0.1");
    // Empty stdin: gnutls-cli handshakes, prints the session, reads EOF and leaves.
    Process p;
    std::string err;
    CliResult r;
    if (!p.start(argv, dir.file(tag + ".out"), dir.file(tag + ".out"), &err)) {
        r.out = err;
        return r;
    }
    r.code = p.wait_for(milliseconds(20000));
    r.out = read_file(dir.file(tag + ".out"));
    return r;
}

class ViewerTlsParams : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::access("/usr/bin/gnutls-cli", X_OK) != 0)
            GTEST_SKIP() << "gnutls-cli is not installed (Debian gnutls-bin; install-deps --test)";
        cert_ = dir_.file("cert.pem");
        key_ = dir_.file("key.pem");
        std::string err;
        ASSERT_NO_FATAL_FAILURE(make_certificate("127.0.0.1", cert_, key_));
        RfbcastOptions o;
        o.demo = true;
        o.password = "tls-pw";
        o.extra_args = {"--tls-cert-file", cert_, "--tls-key-file", key_};
        rfbcast_ = std::make_unique<Rfbcast>(dir_, o);
        ASSERT_TRUE(rfbcast_->start(&err)) << err;
    }

    // A self-signed P-256 certificate for `cn` (also its IP subjectAltName when numeric).
    void make_certificate(const std::string& cn, const std::string& cert, const std::string& key) {
        Process openssl;
        std::string err;
        ASSERT_TRUE(
            openssl.start({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                           "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=" + cn,
                           "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert},
                          dir_.file("openssl.out"), dir_.file("openssl.err"), &err))
            << err;
        ASSERT_EQ(openssl.wait_for(milliseconds(20000)), 0) << read_file(dir_.file("openssl.err"));
    }

    TempDir dir_;
    std::string cert_, key_;
    std::unique_ptr<Rfbcast> rfbcast_;
};

TEST_F(ViewerTlsParams, X509NegotiatesTls13AndTheCertificateVerifies) {
    TlsRelay relay(rfbcast_->port(), 261);  // X509Vnc
    const CliResult r = gnutls_cli(dir_, relay.port(), {"--x509cafile", cert_}, "x509");
    EXPECT_EQ(r.code, 0) << r.out << relay.error();
    EXPECT_NE(r.out.find("(TLS1.3-X.509)-(ECDHE-"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("-(AES-256-GCM)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("The certificate is trusted"), std::string::npos) << r.out;
}

TEST_F(ViewerTlsParams, AnonymousTlsIsEcdhAtTls12WithEncryptThenMac) {
    TlsRelay relay(rfbcast_->port(), 258);  // TLSVnc
    const CliResult r = gnutls_cli(
        dir_, relay.port(), {"--priority", "NORMAL:+ANON-ECDH:-ECDHE-RSA:-ECDHE-ECDSA"}, "anon");
    EXPECT_EQ(r.code, 0) << r.out << relay.error();
    EXPECT_NE(r.out.find("(TLS1.2-X.509)-(ANON-ECDH)-"), std::string::npos) << r.out;
    // ECDH_anon has only CBC suites (RFC 4492); with them, encrypt-then-MAC must be on.
    const bool aead = r.out.find("GCM)") != std::string::npos;
    const bool etm = r.out.find(" EtM,") != std::string::npos;
    EXPECT_TRUE(aead || etm) << "CBC without encrypt-then-MAC: " << r.out;
}

TEST_F(ViewerTlsParams, TlsBelow12IsRefused) {
    for (const char* version : {"+VERS-TLS1.1", "+VERS-TLS1.0"}) {
        TlsRelay relay(rfbcast_->port(), 261);
        const CliResult r = gnutls_cli(
            dir_, relay.port(),
            {"--x509cafile", cert_, "--priority", std::string("NORMAL:-VERS-ALL:") + version},
            std::string("old-") + version);
        EXPECT_NE(r.code, 0) << version << " was accepted:\n" << r.out;
    }
}

// A renewed certificate (certbot, cert-manager) is picked up on SIGHUP: new viewers get the
// new one, without a restart.
TEST_F(ViewerTlsParams, CertificateIsReloadedOnSighup) {
    const std::string old_cert = dir_.file("old-cert.pem");
    {
        std::ifstream in(cert_, std::ios::binary);
        std::ofstream out(old_cert, std::ios::binary);
        out << in.rdbuf();
    }
    const std::string next_cert = dir_.file("next-cert.pem"), next_key = dir_.file("next-key.pem");
    ASSERT_NO_FATAL_FAILURE(make_certificate("renewed.test", next_cert, next_key));
    // Replaced the way renewal tools do: a new file renamed over the old path.
    ASSERT_EQ(::rename(next_key.c_str(), key_.c_str()), 0);
    ASSERT_EQ(::rename(next_cert.c_str(), cert_.c_str()), 0);
    {
        // Before the signal: still the old certificate.
        TlsRelay relay(rfbcast_->port(), 261);
        const CliResult r = gnutls_cli(dir_, relay.port(), {"--x509cafile", old_cert}, "before");
        EXPECT_EQ(r.code, 0) << r.out << relay.error();
    }
    rfbcast_->process().signal(SIGHUP);
    ASSERT_TRUE(wait_for_log_events(*rfbcast_, "reloaded", {}, {}, 1, milliseconds(10000)))
        << rfbcast_->log_tail();
    {
        TlsRelay relay(rfbcast_->port(), 261);
        const CliResult r = gnutls_cli(dir_, relay.port(), {"--x509cafile", cert_}, "after");
        EXPECT_EQ(r.code, 0) << r.out << relay.error();
        EXPECT_NE(r.out.find("CN=renewed.test"), std::string::npos) << r.out;
    }
    {
        TlsRelay relay(rfbcast_->port(), 261);
        const CliResult r = gnutls_cli(dir_, relay.port(), {"--x509cafile", old_cert}, "stale");
        EXPECT_NE(r.code, 0) << "the old certificate is still served:\n" << r.out;
    }
}

// What `openssl s_client` (verifying the certificate against `ca`) receives after sending
// `request` to 127.0.0.1:port; it keeps reading after its input ends until the server closes
// or `wait` passes.
std::string tls_exchange(const TempDir& dir, int port, const std::string& ca,
                         const std::string& request, const std::string& tag, milliseconds wait) {
    const std::string in = dir.file(tag + ".in"), out = dir.file(tag + ".out");
    write_file(in, request);
    Process p;
    std::string err;
    if (!p.start({"/usr/bin/openssl", "s_client", "-quiet", "-ign_eof", "-verify_return_error",
                  "-CAfile", ca, "-connect", "127.0.0.1:" + std::to_string(port)},
                 out, dir.file(tag + ".err"), &err, in))
        return err;
    if (!p.wait_for(wait)) p.stop();
    return read_file(out) + read_file(dir.file(tag + ".err"));
}

// Browsers get the viewers' certificate: https on the HTTP port, and wss on the viewer port
// (a TLS hello there is taken as a browser's), both verifying against it.
TEST_F(ViewerTlsParams, HttpsAndWssUseTheViewersCertificate) {
    RfbcastOptions o;
    o.demo = true;
    o.http = true;
    o.extra_args = {"--tls-cert-file", cert_, "--tls-key-file", key_};
    TempDir dir;
    Rfbcast web(dir, o);
    std::string err;
    ASSERT_TRUE(web.start(&err)) << err;
    ASSERT_TRUE(wait_for_port(web.http_port(), milliseconds(5000), &web.process()));

    const std::string page =
        tls_exchange(dir, web.http_port(), cert_,
                     "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", "https",
                     milliseconds(10000));
    EXPECT_EQ(page.rfind("HTTP/1.1 200", 0), 0u) << page.substr(0, 400);
    EXPECT_NE(page.find("rfbcast"), std::string::npos) << "the listing names the demo session";

    const std::string upgrade =
        "GET /ws/rfbcast HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n";
    const std::string ws = tls_exchange(dir, web.port(), cert_, upgrade, "wss", milliseconds(3000));
    EXPECT_EQ(ws.rfind("HTTP/1.1 101", 0), 0u) << ws.substr(0, 400) << web.log_tail();
    // The RFB greeting inside the first binary frame (0x82, 12 bytes).
    EXPECT_NE(ws.find("\x82\x0cRFB 003.008\n"), std::string::npos) << ws.substr(0, 400);
}

}  // namespace
}  // namespace itest
