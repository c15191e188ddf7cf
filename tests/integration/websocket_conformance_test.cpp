// Issue 8: rfbcast's WebSocket endpoint, spoken to byte by byte over a raw TCP socket, the way a
// browser (or a broken client) would: the RFC 6455 opening handshake, RFB carried in fragmented
// masked binary frames with a ping in between, and the refusals (unmasked frame 1002, text frame
// 1003, a 32 MiB frame 1009, a bad version 426, an unknown session 404). A native viewer of the
// same session keeps getting updates throughout.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "codec/websocket_frame_writer.h"
#include "tests/integration/harness.h"

namespace itest {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;
using Clock = std::chrono::steady_clock;

// The demo session is named after --desktop-name, whose default is "rfbcast".
constexpr const char* kDemoSession = "rfbcast";
// RFC 6455 §1.3's own example: this key must be answered with this accept value.
constexpr const char* kSampleKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr const char* kSampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
constexpr std::array<uint8_t, 4> kMask{0x37, 0xfa, 0x21, 0x3d};
const milliseconds kTimeout(5000);

std::vector<uint8_t> bytes(const std::string& s) {
    return std::vector<uint8_t>(s.begin(), s.end());
}

struct ServerFrame {
    bool fin = false;
    uint8_t opcode = 0;
    std::vector<uint8_t> payload;
    uint16_t close_code() const {
        return payload.size() >= 2 ? static_cast<uint16_t>((payload[0] << 8) | payload[1]) : 0;
    }
};

struct HttpReply {
    int status = 0;
    std::string head;  // status line and headers
    // The value of a header (name matched case-insensitively), "" when absent.
    std::string header(const std::string& name) const {
        std::string lower_head = head, lower_name = name + ":";
        for (char& c : lower_head)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        for (char& c : lower_name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const size_t at = lower_head.find("\r\n" + lower_name);
        if (at == std::string::npos) return {};
        size_t v = at + 2 + lower_name.size();
        while (v < head.size() && head[v] == ' ')
            ++v;
        const size_t end = head.find("\r\n", v);
        return head.substr(v, end == std::string::npos ? std::string::npos : end - v);
    }
};

// A WebSocket client on a plain socket that does nothing for the caller: every frame it sends
// is built by the test, every frame it receives is handed over as it is (after checking that
// the server did not mask it, RFC 6455 §5.1).
class RawWsClient {
  public:
    ~RawWsClient() {
        if (fd_ >= 0) ::close(fd_);
    }

    bool connect(int port) {
        fd_ = connect_tcp(port, kTimeout);
        return fd_ >= 0;
    }
    int fd() const { return fd_; }

    bool send_all(const std::vector<uint8_t>& data) {
        size_t done = 0;
        while (done < data.size()) {
            const ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
            if (n <= 0) return false;
            done += static_cast<size_t>(n);
        }
        return true;
    }

    // Sends the upgrade request for `path` with `version` and reads the response head. The body
    // of an error response stays unread (the server closes after it).
    // `pieces` > 1: the request goes out in that many TCP writes, 30 ms apart.
    AssertionResult upgrade(const std::string& path, HttpReply& reply,
                            const std::string& version = "13", size_t pieces = 1) {
        const std::string request = "GET " + path +
                                    " HTTP/1.1\r\n"
                                    "Host: 127.0.0.1\r\n"
                                    "Upgrade: websocket\r\n"
                                    "Connection: Upgrade\r\n"
                                    "Sec-WebSocket-Key: " +
                                    std::string(kSampleKey) +
                                    "\r\n"
                                    "Sec-WebSocket-Version: " +
                                    version + "\r\n\r\n";
        const size_t step = request.size() / std::max<size_t>(pieces, 1) + 1;
        for (size_t at = 0; at < request.size(); at += step) {
            if (at > 0) std::this_thread::sleep_for(milliseconds(30));
            if (!send_all(bytes(request.substr(at, step))))
                return AssertionFailure() << "cannot send the request";
        }
        const auto deadline = Clock::now() + kTimeout;
        size_t end = std::string::npos;
        while ((end = find_head_end()) == std::string::npos) {
            if (!fill(deadline)) return AssertionFailure() << "no complete response head";
            if (buf_.size() > 16384) return AssertionFailure() << "response head too long";
        }
        reply.head.assign(buf_.begin(), buf_.begin() + static_cast<long>(end));
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<long>(end + 4));
        if (reply.head.compare(0, 9, "HTTP/1.1 ") != 0 || reply.head.size() < 12)
            return AssertionFailure() << "not an HTTP/1.1 status line: " << reply.head;
        reply.status = std::atoi(reply.head.c_str() + 9);
        return AssertionSuccess();
    }

    // The next frame from the server.
    AssertionResult read_frame(ServerFrame& f, milliseconds timeout = kTimeout) {
        const auto deadline = Clock::now() + timeout;
        if (!need(2, deadline)) return AssertionFailure() << "no frame header";
        f.fin = (buf_[0] & 0x80) != 0;
        if (buf_[0] & 0x70) return AssertionFailure() << "RSV bits set by the server";
        f.opcode = buf_[0] & 0x0f;
        if (buf_[1] & 0x80) return AssertionFailure() << "the server masked a frame";
        uint64_t len = buf_[1] & 0x7f;
        size_t header = 2;
        if (len == 126) {
            header = 4;
            if (!need(header, deadline)) return AssertionFailure() << "truncated 16-bit length";
            len = (uint64_t{buf_[2]} << 8) | buf_[3];
        } else if (len == 127) {
            header = 10;
            if (!need(header, deadline)) return AssertionFailure() << "truncated 64-bit length";
            len = 0;
            for (size_t i = 2; i < 10; ++i)
                len = (len << 8) | buf_[i];
        }
        if (len > (size_t{64} << 20)) return AssertionFailure() << "frame of " << len << " bytes";
        if (!need(header + len, deadline))
            return AssertionFailure() << "truncated payload of " << len << " bytes";
        f.payload.assign(buf_.begin() + static_cast<long>(header),
                         buf_.begin() + static_cast<long>(header + len));
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<long>(header + len));
        return AssertionSuccess();
    }

    // Collects `n` bytes of RFB from binary and continuation frames. Pongs are remembered (for
    // the ping check); any other frame fails.
    AssertionResult read_rfb(size_t n, std::vector<uint8_t>& out) {
        const auto deadline = Clock::now() + kTimeout;
        while (rfb_.size() < n) {
            ServerFrame f;
            const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) return AssertionFailure() << "timed out waiting for RFB";
            AssertionResult r = read_frame(f, left);
            if (!r) return r;
            if (f.opcode == 0x2 || f.opcode == 0x0) {
                rfb_.insert(rfb_.end(), f.payload.begin(), f.payload.end());
            } else if (f.opcode == 0xA) {
                pongs_.push_back(f.payload);
            } else {
                return AssertionFailure() << "unexpected frame opcode " << int{f.opcode}
                                          << " (close code " << f.close_code() << ")";
            }
        }
        out.assign(rfb_.begin(), rfb_.begin() + static_cast<long>(n));
        rfb_.erase(rfb_.begin(), rfb_.begin() + static_cast<long>(n));
        return AssertionSuccess();
    }

    // Waits for a pong (one may already have arrived among RFB frames).
    AssertionResult read_pong(std::vector<uint8_t>& payload) {
        const auto deadline = Clock::now() + kTimeout;
        while (pongs_.empty()) {
            ServerFrame f;
            const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) return AssertionFailure() << "no pong";
            AssertionResult r = read_frame(f, left);
            if (!r) return r;
            if (f.opcode == 0xA)
                pongs_.push_back(f.payload);
            else if (f.opcode == 0x2 || f.opcode == 0x0)
                rfb_.insert(rfb_.end(), f.payload.begin(), f.payload.end());
            else
                return AssertionFailure() << "unexpected frame opcode " << int{f.opcode};
        }
        payload = pongs_.front();
        pongs_.erase(pongs_.begin());
        return AssertionSuccess();
    }

    // Expects a close frame with `code` (skipping data frames before it), then the end of the
    // TCP stream.
    AssertionResult expect_close(uint16_t code) {
        const auto deadline = Clock::now() + kTimeout;
        for (;;) {
            ServerFrame f;
            const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) return AssertionFailure() << "no close frame";
            AssertionResult r = read_frame(f, left);
            if (!r) return AssertionFailure() << "waiting for a close frame: " << r.message();
            if (f.opcode == 0x8) {
                if (f.close_code() != code)
                    return AssertionFailure()
                           << "close code " << f.close_code() << ", expected " << code;
                break;
            }
        }
        return expect_eof();
    }

    // The server closes the TCP connection (end of stream or reset) before the timeout.
    AssertionResult expect_eof() {
        const auto deadline = Clock::now() + kTimeout;
        buf_.clear();
        for (;;) {
            const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) return AssertionFailure() << "the server kept the TCP open";
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            uint8_t tmp[4096];
            const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
            if (n <= 0) return AssertionSuccess();
        }
    }

    // Whatever the server sent after the head, up to its closing the connection.
    std::string read_rest() {
        const auto deadline = Clock::now() + kTimeout;
        while (fill(deadline)) {
        }
        return std::string(buf_.begin(), buf_.end());
    }

  private:
    size_t find_head_end() const {
        static const char kEnd[] = "\r\n\r\n";
        auto it = std::search(buf_.begin(), buf_.end(), kEnd, kEnd + 4);
        return it == buf_.end() ? std::string::npos : static_cast<size_t>(it - buf_.begin());
    }

    // One read into buf_; false on timeout, error or end of stream.
    bool fill(Clock::time_point deadline) {
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        uint8_t tmp[65536];
        const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
        if (n <= 0) return false;
        buf_.insert(buf_.end(), tmp, tmp + n);
        return true;
    }

    bool need(size_t n, Clock::time_point deadline) {
        while (buf_.size() < n)
            if (!fill(deadline)) return false;
        return true;
    }

    int fd_ = -1;
    std::vector<uint8_t> buf_;
    std::vector<uint8_t> rfb_;
    std::vector<std::vector<uint8_t>> pongs_;
};

std::vector<uint8_t> masked(rfb::WsOpcode op, const std::vector<uint8_t>& payload,
                            bool fin = true) {
    std::vector<uint8_t> out;
    EXPECT_TRUE(rfb::append_ws_masked_frame(out, op, payload, kMask, fin));
    return out;
}

// A native viewer of the demo session: asks for a whole Raw update at 32 bpp and reads it to the
// last byte, so that each call proves the session still serves it.
class Bystander {
  public:
    AssertionResult start(int port) {
        if (!c_.connect(port)) return AssertionFailure() << "cannot connect";
        std::string err;
        if (!c_.handshake_none(&err)) return AssertionFailure() << "handshake: " << err;
        // SetPixelFormat: 32 bpp, depth 24, little endian, true colour, 8/8/8 at 16/8/0.
        std::vector<uint8_t> pf = {0, 0,   0, 0,   32, 24, 0, 1, 0, 255,
                                   0, 255, 0, 255, 16, 8,  0, 0, 0, 0};
        // SetEncodings: Raw only.
        std::vector<uint8_t> enc = {2, 0, 0, 1, 0, 0, 0, 0};
        if (!c_.send_bytes(pf) || !c_.send_bytes(enc)) return AssertionFailure() << "send";
        return AssertionSuccess();
    }

    AssertionResult update() {
        const uint16_t w = c_.width(), h = c_.height();
        std::vector<uint8_t> req = {3,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    static_cast<uint8_t>(w >> 8),
                                    static_cast<uint8_t>(w),
                                    static_cast<uint8_t>(h >> 8),
                                    static_cast<uint8_t>(h)};
        if (!c_.send_bytes(req)) return AssertionFailure() << "cannot request an update";
        for (;;) {
            uint8_t type = 0;
            if (!c_.read_exact(&type, 1, kTimeout)) return AssertionFailure() << "no message";
            if (type == 2) continue;  // Bell
            if (type == 3) {          // ServerCutText
                uint8_t head[7];
                if (!c_.read_exact(head, 7, kTimeout)) return AssertionFailure() << "cut text";
                const uint32_t len = (uint32_t{head[3]} << 24) | (uint32_t{head[4]} << 16) |
                                     (uint32_t{head[5]} << 8) | head[6];
                if (len > (1u << 20)) return AssertionFailure() << "huge cut text";
                std::vector<uint8_t> text(len);
                if (len && !c_.read_exact(text.data(), len, kTimeout))
                    return AssertionFailure() << "cut text body";
                continue;
            }
            if (type != 0) return AssertionFailure() << "unexpected message type " << int{type};
            uint8_t head[3];
            if (!c_.read_exact(head, 3, kTimeout)) return AssertionFailure() << "update header";
            const size_t rects = (size_t{head[1]} << 8) | head[2];
            size_t pixels = 0;
            for (size_t i = 0; i < rects; ++i) {
                uint8_t r[12];
                if (!c_.read_exact(r, 12, kTimeout)) return AssertionFailure() << "rect header";
                const size_t rw = (size_t{r[4]} << 8) | r[5], rh = (size_t{r[6]} << 8) | r[7];
                const int32_t enc =
                    static_cast<int32_t>((uint32_t{r[8]} << 24) | (uint32_t{r[9]} << 16) |
                                         (uint32_t{r[10]} << 8) | r[11]);
                if (enc != 0) return AssertionFailure() << "rect in encoding " << enc;
                std::vector<uint8_t> data(rw * rh * 4);
                if (!data.empty() && !c_.read_exact(data.data(), data.size(), kTimeout))
                    return AssertionFailure() << "rect data";
                pixels += rw * rh;
            }
            if (pixels < size_t{w} * h)
                return AssertionFailure() << "a full update covered only " << pixels << " pixels";
            ++updates_;
            return AssertionSuccess();
        }
    }
    int updates() const { return updates_; }

  private:
    RawRfbClient c_;
    int updates_ = 0;
};

class WebSocketConformanceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        RfbcastOptions o;
        o.demo = true;
        o.http = true;
        rfbcast_ = std::make_unique<Rfbcast>(dir_, o);
        std::string err;
        ASSERT_TRUE(rfbcast_->start(&err)) << err;
        ASSERT_TRUE(wait_for_port(rfbcast_->http_port(), kTimeout, &rfbcast_->process()))
            << "the HTTP listener never came up";
        ASSERT_TRUE(bystander_.start(rfbcast_->port()));
        ASSERT_TRUE(bystander_.update());
    }
    void TearDown() override {
        if (HasFailure() && rfbcast_)
            std::fprintf(stderr, "--- rfbcast log ---\n%s\n", rfbcast_->log_tail().c_str());
        rfbcast_.reset();
    }

    // An upgraded connection to the demo session, its server greeting already read.
    AssertionResult open(RawWsClient& ws) {
        if (!ws.connect(rfbcast_->http_port())) return AssertionFailure() << "cannot connect";
        HttpReply reply;
        AssertionResult r = ws.upgrade(std::string("/ws/") + kDemoSession, reply);
        if (!r) return r;
        if (reply.status != 101) return AssertionFailure() << "upgrade refused: " << reply.head;
        std::vector<uint8_t> version;
        r = ws.read_rfb(12, version);
        if (!r) return r;
        if (std::string(version.begin(), version.end()) != "RFB 003.008\n")
            return AssertionFailure() << "greeting is not RFB 3.8";
        return AssertionSuccess();
    }

    TempDir dir_;
    std::unique_ptr<Rfbcast> rfbcast_;
    Bystander bystander_;
};

TEST_F(WebSocketConformanceTest, FragmentedHandshakeWithPingReachesServerInit) {
    RawWsClient ws;
    ASSERT_TRUE(ws.connect(rfbcast_->http_port()));
    HttpReply reply;
    ASSERT_TRUE(ws.upgrade(std::string("/ws/") + kDemoSession, reply));
    ASSERT_EQ(reply.status, 101) << reply.head;
    EXPECT_EQ(reply.header("Sec-WebSocket-Accept"), kSampleAccept) << reply.head;
    EXPECT_NE(reply.header("Upgrade").find("websocket"), std::string::npos) << reply.head;
    // noVNC >= 1.2 offers no subprotocol; none may be chosen.
    EXPECT_EQ(reply.header("Sec-WebSocket-Protocol"), "") << reply.head;

    std::vector<uint8_t> version;
    ASSERT_TRUE(ws.read_rfb(12, version));
    ASSERT_EQ(std::string(version.begin(), version.end()), "RFB 003.008\n");

    // "RFB 003.008\n" in three fragments, a ping between the first two.
    const std::vector<uint8_t> ping_payload = bytes("are you there? \x01\xff");
    std::vector<uint8_t> out = masked(rfb::WsOpcode::kBinary, bytes("RFB 0"), false);
    std::vector<uint8_t> ping = masked(rfb::WsOpcode::kPing, ping_payload);
    out.insert(out.end(), ping.begin(), ping.end());
    std::vector<uint8_t> mid = masked(rfb::WsOpcode::kContinuation, bytes("03.0"), false);
    out.insert(out.end(), mid.begin(), mid.end());
    // The last fragment arrives in two TCP writes split inside its header.
    std::vector<uint8_t> last = masked(rfb::WsOpcode::kContinuation, bytes("08\n"), true);
    ASSERT_TRUE(ws.send_all(out));
    ASSERT_TRUE(ws.send_all(std::vector<uint8_t>(last.begin(), last.begin() + 3)));
    std::vector<uint8_t> pong;
    ASSERT_TRUE(ws.read_pong(pong));
    EXPECT_EQ(pong, ping_payload);
    ASSERT_TRUE(ws.send_all(std::vector<uint8_t>(last.begin() + 3, last.end())));

    // Security types: the demo has no password, so None (1) is offered.
    std::vector<uint8_t> count, types;
    ASSERT_TRUE(ws.read_rfb(1, count));
    ASSERT_GT(count[0], 0) << "the server refused the connection";
    ASSERT_TRUE(ws.read_rfb(count[0], types));
    ASSERT_NE(std::find(types.begin(), types.end(), 1), types.end()) << "None not offered";
    ASSERT_TRUE(ws.send_all(masked(rfb::WsOpcode::kBinary, {1})));
    std::vector<uint8_t> result;
    ASSERT_TRUE(ws.read_rfb(4, result));
    EXPECT_EQ(result, (std::vector<uint8_t>{0, 0, 0, 0})) << "SecurityResult failed";
    // ClientInit (shared) split over two frames of one message: one byte needs no split, so
    // send an empty first fragment.
    std::vector<uint8_t> init = masked(rfb::WsOpcode::kBinary, {}, false);
    std::vector<uint8_t> init2 = masked(rfb::WsOpcode::kContinuation, {1}, true);
    init.insert(init.end(), init2.begin(), init2.end());
    ASSERT_TRUE(ws.send_all(init));

    std::vector<uint8_t> server_init, name;
    ASSERT_TRUE(ws.read_rfb(24, server_init));
    const int width = (server_init[0] << 8) | server_init[1];
    const int height = (server_init[2] << 8) | server_init[3];
    EXPECT_GT(width, 0);
    EXPECT_GT(height, 0);
    const uint32_t name_len = (uint32_t{server_init[20]} << 24) |
                              (uint32_t{server_init[21]} << 16) | (uint32_t{server_init[22]} << 8) |
                              server_init[23];
    ASSERT_LT(name_len, 1024u);
    ASSERT_TRUE(ws.read_rfb(name_len, name));
    EXPECT_EQ(std::string(name.begin(), name.end()), kDemoSession);

    // And the session serves this viewer: a full update request is answered with an update.
    const std::vector<uint8_t> fbur = {3,
                                       0,
                                       0,
                                       0,
                                       0,
                                       0,
                                       static_cast<uint8_t>(width >> 8),
                                       static_cast<uint8_t>(width),
                                       static_cast<uint8_t>(height >> 8),
                                       static_cast<uint8_t>(height)};
    ASSERT_TRUE(ws.send_all(masked(rfb::WsOpcode::kBinary, fbur)));
    std::vector<uint8_t> type;
    ASSERT_TRUE(ws.read_rfb(1, type));
    EXPECT_EQ(type[0], 0) << "expected a FramebufferUpdate";

    EXPECT_TRUE(bystander_.update());
}

TEST_F(WebSocketConformanceTest, UnmaskedFrameIsProtocolError) {
    RawWsClient ws;
    ASSERT_TRUE(open(ws));
    std::vector<uint8_t> frame;
    ASSERT_TRUE(rfb::append_ws_frame(frame, rfb::WsOpcode::kBinary, bytes("RFB 003.008\n")));
    ASSERT_TRUE(ws.send_all(frame));
    EXPECT_TRUE(ws.expect_close(rfb::kWsCloseProtocolError));
    EXPECT_TRUE(bystander_.update());
}

TEST_F(WebSocketConformanceTest, TextFrameIsUnsupportedData) {
    RawWsClient ws;
    ASSERT_TRUE(open(ws));
    ASSERT_TRUE(ws.send_all(masked(rfb::WsOpcode::kText, bytes("RFB 003.008\n"))));
    EXPECT_TRUE(ws.expect_close(rfb::kWsCloseUnsupportedData));
    EXPECT_TRUE(bystander_.update());
}

TEST_F(WebSocketConformanceTest, FrameDeclaring32MiBIsTooBig) {
    RawWsClient ws;
    ASSERT_TRUE(open(ws));
    // Only the header: the refusal must come from the declared length, not from 32 MiB of data.
    const uint64_t len = uint64_t{32} << 20;
    std::vector<uint8_t> header = {0x82, 0x80 | 127};
    for (int shift = 56; shift >= 0; shift -= 8)
        header.push_back(static_cast<uint8_t>(len >> shift));
    header.insert(header.end(), kMask.begin(), kMask.end());
    ASSERT_TRUE(ws.send_all(header));
    EXPECT_TRUE(ws.expect_close(rfb::kWsCloseMessageTooBig));
    EXPECT_TRUE(bystander_.update());
}

TEST_F(WebSocketConformanceTest, BadVersionGets426) {
    RawWsClient ws;
    ASSERT_TRUE(ws.connect(rfbcast_->http_port()));
    HttpReply reply;
    ASSERT_TRUE(ws.upgrade(std::string("/ws/") + kDemoSession, reply, "8"));
    EXPECT_EQ(reply.status, 426) << reply.head;
    EXPECT_EQ(reply.header("Sec-WebSocket-Version"), "13") << reply.head;
    EXPECT_EQ(reply.header("Sec-WebSocket-Accept"), "") << reply.head;
    EXPECT_TRUE(ws.expect_eof());
    EXPECT_TRUE(bystander_.update());
}

TEST_F(WebSocketConformanceTest, UnknownSessionGets404) {
    RawWsClient ws;
    ASSERT_TRUE(ws.connect(rfbcast_->http_port()));
    HttpReply reply;
    ASSERT_TRUE(ws.upgrade("/ws/unknown", reply));
    EXPECT_EQ(reply.status, 404) << reply.head;
    EXPECT_EQ(reply.header("Sec-WebSocket-Accept"), "") << reply.head;
    EXPECT_TRUE(ws.expect_eof());
    EXPECT_TRUE(bystander_.update());
}

TEST_F(WebSocketConformanceTest, WebsockifyPathReachesTheOnlySession) {
    RawWsClient ws;
    ASSERT_TRUE(ws.connect(rfbcast_->http_port()));
    HttpReply reply;
    ASSERT_TRUE(ws.upgrade("/websockify", reply));
    ASSERT_EQ(reply.status, 101) << reply.head;
    EXPECT_EQ(reply.header("Sec-WebSocket-Accept"), kSampleAccept) << reply.head;
    std::vector<uint8_t> version;
    ASSERT_TRUE(ws.read_rfb(12, version));
    EXPECT_EQ(std::string(version.begin(), version.end()), "RFB 003.008\n");
    EXPECT_TRUE(bystander_.update());
}

// A request that arrives in several TCP segments is read once, not re-fed from the start.
TEST_F(WebSocketConformanceTest, UpgradeRequestInPiecesIsReadOnce) {
    for (int port : {rfbcast_->http_port(), rfbcast_->port()}) {
        RawWsClient ws;
        ASSERT_TRUE(ws.connect(port));
        HttpReply reply;
        ASSERT_TRUE(ws.upgrade(std::string("/ws/") + kDemoSession, reply, "13", 5));
        ASSERT_EQ(reply.status, 101) << reply.head;
        std::vector<uint8_t> version;
        ASSERT_TRUE(ws.read_rfb(12, version));
        EXPECT_EQ(std::string(version.begin(), version.end()), "RFB 003.008\n");
    }
}

// One port for both: the viewer port (where the native bystander is) also takes the browser's
// upgrade, since a browser speaks first and an RFB viewer waits for the greeting.
TEST_F(WebSocketConformanceTest, ViewerPortAlsoTakesWebSockets) {
    RawWsClient ws;
    ASSERT_TRUE(ws.connect(rfbcast_->port()));
    HttpReply reply;
    ASSERT_TRUE(ws.upgrade(std::string("/ws/") + kDemoSession, reply));
    ASSERT_EQ(reply.status, 101) << reply.head;
    EXPECT_EQ(reply.header("Sec-WebSocket-Accept"), kSampleAccept) << reply.head;
    std::vector<uint8_t> version;
    ASSERT_TRUE(ws.read_rfb(12, version));
    ASSERT_EQ(std::string(version.begin(), version.end()), "RFB 003.008\n");
    ASSERT_TRUE(ws.send_all(masked(rfb::WsOpcode::kBinary, bytes("RFB 003.008\n"))));
    std::vector<uint8_t> count, types;
    ASSERT_TRUE(ws.read_rfb(1, count));
    ASSERT_GT(count[0], 0) << "the server refused the connection";
    ASSERT_TRUE(ws.read_rfb(count[0], types));
    EXPECT_NE(std::find(types.begin(), types.end(), 1), types.end()) << "None not offered";

    // A native viewer arriving now still gets plain RFB on the same port.
    Bystander native;
    ASSERT_TRUE(native.start(rfbcast_->port()));
    EXPECT_TRUE(native.update());
    EXPECT_TRUE(bystander_.update());

    // And a plain page request there is answered as on the HTTP port.
    RawWsClient page;
    ASSERT_TRUE(page.connect(rfbcast_->port()));
    ASSERT_TRUE(page.send_all(bytes("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
    std::string answer;
    char buf[4096];
    for (;;) {
        pollfd p{page.fd(), POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0) break;
        const ssize_t n = ::recv(page.fd(), buf, sizeof buf, 0);
        if (n <= 0) break;
        answer.append(buf, static_cast<size_t>(n));
    }
    EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer.substr(0, 200);
    EXPECT_NE(answer.find(kDemoSession), std::string::npos) << "the listing names the session";
}

}  // namespace
}  // namespace itest
