// Apple Remote Desktop authentication (security type 30) against libvncclient.
//
// There is no Mac here, so interoperability is shown in two halves that meet in codec/ard_auth:
// libvncclient's own client side (lvc_viewer --username-file) logs in to tests/tools/ard_server,
// which uses ard_auth's server side; so ard_auth's server side agrees with libvncclient. The
// unit tests show that ard_auth's client side agrees with its server side (and with an
// independent computation), and the last tests here drive the client side over a real socket.
#include <gtest/gtest.h>
#include <sys/random.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "codec/ard_auth.h"
#include "codec/rfb_constants.h"
#include "tests/integration/harness.h"

#ifndef ARD_SERVER_BIN
#define ARD_SERVER_BIN ""
#endif

namespace itest {
namespace {

const std::string kUser = "alice";
const std::string kPassword = "correct horse battery staple";

// tests/tools/ard_server on a kernel-chosen port, with its own credential files.
class ArdServer {
  public:
    ArdServer(const TempDir& dir, int key_bits) : dir_(dir), key_bits_(key_bits) {}

    bool start(const std::string& user, const std::string& password, std::string* error) {
        const std::string user_file = dir_.file("ard-user.txt");
        const std::string pw_file = dir_.file("ard-password.txt");
        const std::string port_file = dir_.file("ard-port.txt");
        if (!write_file(user_file, user + "\n") || !write_file(pw_file, password + "\n")) {
            *error = "cannot write the credential files";
            return false;
        }
        log_ = dir_.file("ard-server.log");
        if (!proc_.start({ARD_SERVER_BIN, "--username-file", user_file, "--password-file", pw_file,
                          "--port-file", port_file, "--key-bits", std::to_string(key_bits_),
                          "--idle-timeout-ms", "20000"},
                         dir_.file("ard-server.out"), log_, error))
            return false;
        const auto deadline = std::chrono::steady_clock::now() + milliseconds(10000);
        while (std::chrono::steady_clock::now() < deadline) {
            const std::string text = read_file(port_file);
            if (!text.empty()) {
                port_ = std::stoi(text);
                return port_ > 0;
            }
            if (!proc_.running()) break;
            std::this_thread::sleep_for(milliseconds(20));
        }
        *error = "ard_server did not start; log:\n" + file_tail(log_);
        return false;
    }
    int port() const { return port_; }
    std::string log() const { return read_file(log_); }

  private:
    const TempDir& dir_;
    int key_bits_;
    Process proc_;
    int port_ = 0;
    std::string log_;
};

size_t count_of(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        ++n;
    return n;
}

// lvc_viewer with a username (the harness's LvcOptions has no username).
ViewerResult run_viewer(const TempDir& dir, int port, const std::string& user,
                        const std::string& password, const std::string& tag,
                        const std::vector<std::string>& extra = {}) {
    const std::string user_file = dir.file(tag + "-user.txt");
    const std::string pw_file = dir.file(tag + "-password.txt");
    write_file(user_file, user + "\n");
    write_file(pw_file, password + "\n");
    std::vector<std::string> args = {lvc_viewer_bin(),
                                     "--port",
                                     std::to_string(port),
                                     "--encodings",
                                     "raw",
                                     "--username-file",
                                     user_file,
                                     "--password-file",
                                     pw_file,
                                     "--settle-ms",
                                     "300",
                                     "--timeout-ms",
                                     "10000"};
    args.insert(args.end(), extra.begin(), extra.end());
    Process proc;
    std::string error;
    if (!proc.start(args, dir.file(tag + ".out"), dir.file(tag + ".err"), &error)) {
        ViewerResult r;
        r.err = error;
        return r;
    }
    return finish_viewer(dir, tag, proc, milliseconds(25000));
}

// The picture ard_server sends: red 4x, green 5y, blue 3(x+y), each & 255.
Image expected_picture() {
    Image img;
    img.width = 64;
    img.height = 48;
    for (int y = 0; y < img.height; ++y) {
        for (int x = 0; x < img.width; ++x) {
            img.rgb.push_back(static_cast<uint8_t>((x * 4) & 255));
            img.rgb.push_back(static_cast<uint8_t>((y * 5) & 255));
            img.rgb.push_back(static_cast<uint8_t>(((x + y) * 3) & 255));
        }
    }
    return img;
}

void expect_logged_in_and_picture(const TempDir& dir, ArdServer& server, int key_bits,
                                  const std::string& user, const std::string& password,
                                  const std::string& tag, int bpp = 32) {
    const std::string ppm = dir.file(tag + ".ppm");
    const ViewerResult r = run_viewer(dir, server.port(), user, password, tag,
                                      {"--out", ppm, "--bpp", std::to_string(bpp), "--verbose"});
    ASSERT_TRUE(r.ok()) << r.describe() << "\nserver log:\n" << server.log();
    EXPECT_NE(r.err.find("Selected Security Scheme 30"), std::string::npos) << r.err;
    const std::string log = server.log();
    EXPECT_NE(log.find("ard keylen=" + std::to_string(key_bits / 8)), std::string::npos) << log;
    EXPECT_EQ(count_of(log, "security-result ok"), 1u) << log;
    EXPECT_EQ(log.find("security-result failed"), std::string::npos) << log;
    Image got;
    std::string error;
    ASSERT_TRUE(load_ppm(ppm, got, &error)) << error;
    // 16 bpp keeps 5 or 6 bits per channel: each value may move by up to half a step.
    const ImageDiff diff = compare_images(got, expected_picture(), bpp == 16 ? 5 : 0);
    EXPECT_TRUE(diff.equal()) << diff.describe();
}

TEST(ArdAuth, LibvncclientLogsInWithA1024BitKey) {
    TempDir dir;
    ArdServer server(dir, 1024);
    std::string error;
    ASSERT_TRUE(server.start(kUser, kPassword, &error)) << error;
    expect_logged_in_and_picture(dir, server, 1024, kUser, kPassword, "ok1024");
}

TEST(ArdAuth, LibvncclientLogsInWithA2048BitKeyAt16Bpp) {
    TempDir dir;
    ArdServer server(dir, 2048);
    std::string error;
    ASSERT_TRUE(server.start(kUser, kPassword, &error)) << error;
    expect_logged_in_and_picture(dir, server, 2048, kUser, kPassword, "ok2048", 16);
}

TEST(ArdAuth, LibvncclientLogsInWithFullLengthCredentials) {
    // 63 bytes each: the longest that fits a 64-byte field with its terminator. UTF-8 and
    // punctuation pass through untouched.
    const std::string user = "ren\xc3\xa9-" + std::string(57, 'u');
    const std::string password = "p@ss w0rd! " + std::string(52, 'x');
    ASSERT_EQ(user.size(), 63u);
    ASSERT_EQ(password.size(), 63u);
    TempDir dir;
    ArdServer server(dir, 1024);
    std::string error;
    ASSERT_TRUE(server.start(user, password, &error)) << error;
    expect_logged_in_and_picture(dir, server, 1024, user, password, "long");
}

void expect_refused(const std::string& user, const std::string& password, const std::string& tag) {
    TempDir dir;
    ArdServer server(dir, 1024);
    std::string error;
    ASSERT_TRUE(server.start(kUser, kPassword, &error)) << error;
    const ViewerResult r = run_viewer(dir, server.port(), user, password, tag, {"--verbose"});
    ASSERT_TRUE(r.exit_code.has_value()) << r.describe();
    EXPECT_EQ(*r.exit_code, 2) << r.describe();
    // The 3.8 failure reason reached libvncclient intact.
    EXPECT_NE(r.err.find("ARD: wrong username or password"), std::string::npos) << r.err;
    const std::string log = server.log();
    EXPECT_NE(log.find("security-result failed: ARD: wrong username or password"),
              std::string::npos)
        << log;
    EXPECT_EQ(log.find("security-result ok"), std::string::npos) << log;
    if (!password.empty()) {
        EXPECT_EQ(log.find(password), std::string::npos) << "password in the server log";
    }
    EXPECT_EQ(log.find(kPassword), std::string::npos) << "password in the server log";
}

TEST(ArdAuth, LibvncclientWithAWrongPasswordIsRefused) {
    expect_refused(kUser, "correct horse battery stapler", "wrongpw");
}

TEST(ArdAuth, LibvncclientWithAWrongUsernameIsRefused) {
    expect_refused("alicia", kPassword, "wronguser");
}

TEST(ArdAuth, LibvncclientWithAnEmptyPasswordIsRefused) {
    expect_refused(kUser, "", "emptypw");
}

// ard_auth's client side over a socket, as client_handshake will drive it: 3.8, type 30, the
// server message sized by ard_server_message_size, the reply, then SecurityResult.
struct WireResult {
    bool reached_result = false;
    uint32_t status = 0xffffffff;
    std::string reason;
    uint16_t width = 0, height = 0;
    std::string error;
};

WireResult login_over_the_wire(int port, const std::string& user, const std::string& password) {
    WireResult w;
    RawRfbClient c;
    if (!c.connect(port)) {
        w.error = "cannot connect";
        return w;
    }
    const milliseconds t(10000);
    uint8_t version[12];
    if (!c.read_exact(version, sizeof version, t)) {
        w.error = "no version";
        return w;
    }
    const std::string v38 = "RFB 003.008\n";
    c.send_bytes(std::vector<uint8_t>(v38.begin(), v38.end()));
    uint8_t types[2];
    if (!c.read_exact(types, 2, t) || types[0] != 1 ||
        types[1] != rfb::security::kAppleRemoteDesktop) {
        w.error = "security types are not [30]";
        return w;
    }
    c.send_bytes({rfb::security::kAppleRemoteDesktop});
    std::vector<uint8_t> msg(4);
    if (!c.read_exact(msg.data(), 4, t)) {
        w.error = "no ARD header";
        return w;
    }
    const size_t size = rfb::ard_server_message_size(msg);
    if (size == 0) {
        w.error = "ard_server_message_size refused the header";
        return w;
    }
    msg.resize(size);
    if (!c.read_exact(msg.data() + 4, size - 4, t)) {
        w.error = "ARD message truncated";
        return w;
    }
    std::vector<uint8_t> random(1024);
    if (getrandom(random.data(), random.size(), 0) != static_cast<ssize_t>(random.size())) {
        w.error = "getrandom failed";
        return w;
    }
    const rfb::ArdReply reply = rfb::ard_client_reply(msg, user, password, random);
    if (!reply.ok) {
        w.error = "ard_client_reply: " + reply.error;
        return w;
    }
    c.send_bytes(reply.bytes);
    uint8_t status[4];
    if (!c.read_exact(status, 4, t)) {
        w.error = "no SecurityResult";
        return w;
    }
    w.reached_result = true;
    w.status = (uint32_t{status[0]} << 24) | (uint32_t{status[1]} << 16) |
               (uint32_t{status[2]} << 8) | status[3];
    if (w.status != 0) {
        uint8_t len[4];
        if (c.read_exact(len, 4, t)) {
            const uint32_t n = (uint32_t{len[0]} << 24) | (uint32_t{len[1]} << 16) |
                               (uint32_t{len[2]} << 8) | len[3];
            std::string reason(n, '\0');
            if (n < 4096 && c.read_exact(reinterpret_cast<uint8_t*>(reason.data()), n, t))
                w.reason = reason;
        }
        return w;
    }
    c.send_bytes({1});  // ClientInit, shared
    uint8_t init[24];
    if (!c.read_exact(init, sizeof init, t)) {
        w.error = "no ServerInit";
        return w;
    }
    w.width = static_cast<uint16_t>((init[0] << 8) | init[1]);
    w.height = static_cast<uint16_t>((init[2] << 8) | init[3]);
    return w;
}

TEST(ArdAuth, RfbcastClientSideLogsInOverTheWire) {
    for (int bits : {1024, 2048}) {
        SCOPED_TRACE(bits);
        TempDir dir;
        ArdServer server(dir, bits);
        std::string error;
        ASSERT_TRUE(server.start(kUser, kPassword, &error)) << error;
        const WireResult ok = login_over_the_wire(server.port(), kUser, kPassword);
        ASSERT_TRUE(ok.reached_result) << ok.error << "\n" << server.log();
        EXPECT_EQ(ok.status, 0u) << ok.reason;
        EXPECT_EQ(ok.width, 64);
        EXPECT_EQ(ok.height, 48);
        const WireResult bad = login_over_the_wire(server.port(), kUser, "nope");
        ASSERT_TRUE(bad.reached_result) << bad.error << "\n" << server.log();
        EXPECT_EQ(bad.status, 1u);
        EXPECT_EQ(bad.reason, "ARD: wrong username or password");
        const std::string log = server.log();
        EXPECT_EQ(count_of(log, "security-result ok"), 1u) << log;
        EXPECT_EQ(count_of(log, "security-result failed"), 1u) << log;
    }
}

}  // namespace
}  // namespace itest
