// Hostile viewers against a live session: for every case a scripted client (raw bytes on a
// socketpair) attacks a real ViewerConnection while a well-behaved bystander viewer watches the
// same session. Each case proves: the process survives (and, in the sanitizer build, without a
// report), the bystander keeps receiving frames and ends up with the newest pixels, and the
// attacker's connection ends with a logged reason. Attacks that are legal RFB (odd but valid
// values) must instead leave the attacker connected and served; it then disconnects itself and
// that is logged too.
//
// The reason is read from rfbcast's own log line ("viewer-disconnected"/"viewer-refused ...
// reason=..."): stderr is redirected to a file for the length of each test.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

#include "codec/byte_writer.h"
#include "codec/client_handshake.h"
#include "codec/encode_cache.h"
#include "codec/pixel_format.h"
#include "codec/rfb_constants.h"
#include "codec/server_message_reader.h"
#include "reflector/connection.h"
#include "reflector/encode_pool.h"
#include "reflector/event_loop.h"
#include "reflector/log.h"
#include "reflector/session.h"
#include "reflector/tile_encode_service.h"
#include "reflector/upstream_link.h"
#include "reflector/viewer_connection.h"
#include "tests/unit/reflector/byte_chain.h"

namespace rfbcast {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;

// Big enough that a whole Raw frame (640 KiB) does not fit in a socketpair's buffers, so a
// viewer that leaves mid-update leaves while rfbcast still has bytes queued for it.
constexpr uint16_t kWidth = 512, kHeight = 320;
constexpr size_t kRawFrameBytes = size_t{kWidth} * kHeight * 4;
const char* const kPassword = "hostile1";
const char* const kPeerClosed = "peer closed the connection";
const char* const kDeadline = "handshake not finished within 10 s";
// What a viewer gets in production (session_registry.cpp's viewer_limits()).
constexpr size_t kViewerRxCap = 512 * 1024;

// ---------------------------------------------------------------------------------------------
// The log: stderr goes to a file while a test runs, so that rfbcast's log lines can be read
// back. Sanitizer reports keep going to the real stderr.

class StderrCapture {
  public:
    StderrCapture() {
        std::fflush(stderr);
        char path[] = "/tmp/rfbcast-hostile-viewer-log.XXXXXX";
        fd_ = ::mkstemp(path);
        path_ = path;
        saved_ = ::dup(2);
        if (fd_ >= 0 && saved_ >= 0) ::dup2(fd_, 2);
#if defined(__SANITIZE_ADDRESS__)
        __sanitizer_set_report_fd(reinterpret_cast<void*>(static_cast<intptr_t>(saved_)));
#endif
    }
    ~StderrCapture() {
        std::fflush(stderr);
#if defined(__SANITIZE_ADDRESS__)
        __sanitizer_set_report_fd(reinterpret_cast<void*>(static_cast<intptr_t>(2)));
#endif
        if (saved_ >= 0) {
            ::dup2(saved_, 2);
            ::close(saved_);
        }
        if (fd_ >= 0) ::close(fd_);
        ::unlink(path_.c_str());
    }
    std::string text() const {
        std::fflush(stderr);
        std::string out;
        char buf[8192];
        for (off_t off = 0;;) {
            const ssize_t n = ::pread(fd_, buf, sizeof buf, off);
            if (n <= 0) break;
            out.append(buf, static_cast<size_t>(n));
            off += n;
        }
        return out;
    }

  private:
    int fd_ = -1, saved_ = -1;
    std::string path_;
};

// The end of one viewer's connection as rfbcast logged it.
struct LoggedEnd {
    std::string event;   // "viewer-disconnected" or "viewer-refused"
    std::string reason;  // the quoted reason
};

std::optional<LoggedEnd> find_end(const std::string& log, uint64_t viewer) {
    const std::string who = " viewer=" + std::to_string(viewer) + " peer=";
    size_t start = 0;
    while (start < log.size()) {
        size_t end = log.find('\n', start);
        if (end == std::string::npos) end = log.size();
        const std::string line = log.substr(start, end - start);
        start = end + 1;
        if (line.find(who) == std::string::npos) continue;
        for (const char* ev : {"viewer-disconnected", "viewer-refused"}) {
            if (line.find(std::string(" ") + ev + " ") == std::string::npos) continue;
            const size_t r = line.find("reason=\"");
            const size_t q = line.rfind('"');
            if (r == std::string::npos || q < r + 8) continue;
            return LoggedEnd{ev, line.substr(r + 8, q - (r + 8))};
        }
    }
    return std::nullopt;
}

// `expected` lists acceptable reasons separated by '|'; each must appear as a substring.
bool reason_matches(const std::string& reason, const std::string& expected) {
    size_t start = 0;
    for (;;) {
        const size_t bar = expected.find('|', start);
        const std::string alt = expected.substr(start, bar - start);
        if (reason.find(alt) != std::string::npos) return true;
        if (bar == std::string::npos) return false;
        start = bar + 1;
    }
}

// ---------------------------------------------------------------------------------------------
// Crafted viewer bytes.

class Msg : public test::ByteChain<Msg> {};

// A PIXEL_FORMAT field by its parts, so that insane ones can be written.
struct WireFormat {
    uint8_t bpp = 32, depth = 24, big_endian = 0, true_colour = 1;
    uint16_t red_max = 255, green_max = 255, blue_max = 255;
    uint8_t red_shift = 16, green_shift = 8, blue_shift = 0;
};

Bytes set_pixel_format(const WireFormat& f) {
    return Msg()
        .u8(rfb::client_msg::kSetPixelFormat)
        .fill(3, 0)
        .u8(f.bpp)
        .u8(f.depth)
        .u8(f.big_endian)
        .u8(f.true_colour)
        .u16(f.red_max)
        .u16(f.green_max)
        .u16(f.blue_max)
        .u8(f.red_shift)
        .u8(f.green_shift)
        .u8(f.blue_shift)
        .fill(3, 0)
        .take();
}

Bytes set_encodings(const std::vector<int32_t>& encodings) {
    Msg m;
    m.u8(rfb::client_msg::kSetEncodings).u8(0).u16(static_cast<uint16_t>(encodings.size()));
    for (int32_t e : encodings)
        m.s32(e);
    return m.take();
}

// A SetEncodings header announcing `count` entries, followed by `present` of them.
Bytes set_encodings_count(uint16_t count, size_t present) {
    Msg m;
    m.u8(rfb::client_msg::kSetEncodings).u8(0).u16(count);
    for (size_t i = 0; i < present; ++i)
        m.s32(rfb::encoding::kRaw);
    return m.take();
}

Bytes update_request(bool incremental, uint16_t x, uint16_t y, uint16_t w, uint16_t h) {
    return Msg()
        .u8(rfb::client_msg::kFramebufferUpdateRequest)
        .u8(incremental ? 1 : 0)
        .u16(x)
        .u16(y)
        .u16(w)
        .u16(h)
        .take();
}

Bytes full_request() {
    return update_request(false, 0, 0, kWidth, kHeight);
}

Bytes key_event(uint8_t down, uint32_t keysym) {
    return Msg().u8(rfb::client_msg::kKeyEvent).u8(down).u16(0).u32(keysym).take();
}

Bytes pointer_event(uint8_t buttons, uint16_t x, uint16_t y) {
    return Msg().u8(rfb::client_msg::kPointerEvent).u8(buttons).u16(x).u16(y).take();
}

// ClientCutText with the length field as given and `body` bytes after it.
Bytes cut_text(uint32_t length_field, size_t body, uint8_t fill = 'a') {
    return Msg()
        .u8(rfb::client_msg::kClientCutText)
        .fill(3, 0)
        .u32(length_field)
        .fill(body, fill)
        .take();
}

// ExtendedClipboard: a negative length, then flags and data.
Bytes extended_clipboard(uint32_t flags, const Bytes& data) {
    const uint32_t len = static_cast<uint32_t>(4 + data.size());
    return Msg()
        .u8(rfb::client_msg::kClientCutText)
        .fill(3, 0)
        .u32(0u - len)
        .u32(flags)
        .bytes(data)
        .take();
}

Bytes continuous_updates(uint8_t enable, uint16_t x, uint16_t y, uint16_t w, uint16_t h) {
    return Msg()
        .u8(rfb::client_msg::kEnableContinuousUpdates)
        .u8(enable)
        .u16(x)
        .u16(y)
        .u16(w)
        .u16(h)
        .take();
}

// A ClientFence whose length byte is `len`, with `body` payload bytes after it.
Bytes fence(uint32_t flags, uint8_t len, size_t body) {
    return Msg()
        .u8(rfb::client_msg::kClientFence)
        .fill(3, 0)
        .u32(flags)
        .u8(len)
        .fill(body, 'f')
        .take();
}

Bytes set_desktop_size(uint16_t w, uint16_t h, uint8_t count, size_t screens_present,
                       uint16_t screen_w = 0, uint16_t screen_h = 0) {
    Msg m;
    m.u8(rfb::client_msg::kSetDesktopSize).u8(0).u16(w).u16(h).u8(count).u8(0);
    for (size_t i = 0; i < screens_present; ++i)
        m.u32(static_cast<uint32_t>(i))
            .u16(0xffff)
            .u16(0xffff)
            .u16(screen_w)
            .u16(screen_h)
            .u32(0xffffffff);
    return m.take();
}

Bytes qemu(uint8_t subtype, uint16_t down, uint32_t keysym, uint32_t keycode) {
    return Msg().u8(rfb::client_msg::kQemu).u8(subtype).u16(down).u32(keysym).u32(keycode).take();
}

Bytes repeat(const Bytes& one, size_t n) {
    Bytes out;
    out.reserve(one.size() * n);
    for (size_t i = 0; i < n; ++i)
        out.insert(out.end(), one.begin(), one.end());
    return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

Bytes text_bytes(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

Bytes first(const Bytes& b, size_t n) {
    return Bytes(b.begin(), b.begin() + static_cast<long>(std::min(n, b.size())));
}

// A complete zlib stream of `zeros` zero bytes: tiny on the wire, huge inflated.
Bytes zlib_bomb(size_t zeros) {
    z_stream z{};
    deflateInit(&z, 9);
    Bytes out(compressBound(static_cast<uLong>(zeros)) / 64 + 4096);
    const Bytes chunk(1 << 20, 0);
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    for (size_t left = zeros; left > 0;) {
        const size_t n = std::min(left, chunk.size());
        left -= n;
        z.next_in = const_cast<Bytef*>(chunk.data());
        z.avail_in = static_cast<uInt>(n);
        deflate(&z, left == 0 ? Z_FINISH : Z_NO_FLUSH);
    }
    out.resize(out.size() - z.avail_out);
    deflateEnd(&z);
    return out;
}

// ---------------------------------------------------------------------------------------------
// The attacker: a script of steps run from a timer on the session's loop, draining everything
// rfbcast sends (unless told to stop reading) and writing what the script queues as the socket
// takes it.

struct Step {
    enum Kind {
        kSend,           // queue bytes (written as the socket takes them)
        kDrip,           // one byte of `bytes` every `interval`
        kSendEvery,      // `bytes` every `interval`, `count` times
        kWait,           // for `interval`
        kWaitReceived,   // until `count` bytes came from rfbcast in all
        kWaitFlushed,    // until everything queued was written
        kStopReading,    // rfbcast's bytes pile up in the socket
        kShutdownWrite,  // half-close: rfbcast sees EOF, the attacker could still read
        kClose,          // once what is queued was written
    } kind = kSend;
    Bytes bytes;
    Clock::duration interval{};
    size_t count = 0;
};

class Script {
  public:
    Script& send(Bytes b) { return add(Step::kSend, std::move(b)); }
    Script& drip(Bytes b, Clock::duration every) { return add(Step::kDrip, std::move(b), every); }
    Script& send_every(Bytes b, Clock::duration every, size_t n) {
        return add(Step::kSendEvery, std::move(b), every, n);
    }
    Script& wait(Clock::duration d) { return add(Step::kWait, {}, d); }
    Script& wait_received(size_t n) { return add(Step::kWaitReceived, {}, {}, n); }
    Script& wait_flushed() { return add(Step::kWaitFlushed); }
    Script& stop_reading() { return add(Step::kStopReading); }
    Script& shutdown_write() { return add(Step::kShutdownWrite); }
    Script& close() { return add(Step::kClose); }
    Script& then(const Script& more) {
        steps_.insert(steps_.end(), more.steps_.begin(), more.steps_.end());
        return *this;
    }
    const std::vector<Step>& steps() const { return steps_; }
    bool closes() const {
        return std::any_of(steps_.begin(), steps_.end(),
                           [](const Step& s) { return s.kind == Step::kClose; });
    }

  private:
    Script& add(Step::Kind kind, Bytes b = {}, Clock::duration interval = {}, size_t count = 0) {
        Step s;
        s.kind = kind;
        s.bytes = std::move(b);
        s.interval = interval;
        s.count = count;
        steps_.push_back(std::move(s));
        return *this;
    }
    std::vector<Step> steps_;
};

class Attacker {
  public:
    Attacker(EventLoop& loop, int fd, Script script)
        : loop_(loop), fd_(fd), script_(std::move(script)), started_(loop.now()) {
        pump();
    }
    ~Attacker() {
        if (timer_) loop_.cancel_timer(timer_);
        if (fd_ >= 0) ::close(fd_);
    }

    bool script_done() const { return step_ >= script_.steps().size(); }
    bool saw_eof() const { return eof_; }
    bool closed_by_us() const { return fd_ < 0; }
    size_t received() const { return received_; }
    // The first bytes rfbcast sent (capped), to look for failure reasons.
    const Bytes& head() const { return head_; }
    Clock::time_point started() const { return started_; }
    void resume_reading() { reading_ = true; }
    void queue(const Bytes& b) { tx_.insert(tx_.end(), b.begin(), b.end()); }
    void close_now() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

  private:
    static constexpr size_t kHeadCap = 64 * 1024;

    void pump() {
        timer_ = loop_.add_timer(1ms, [this] {
            timer_ = 0;
            tick();
            if (fd_ >= 0) pump();
        });
    }
    void tick() {
        if (fd_ < 0) return;
        if (reading_) read_all();
        run_script();
        flush();
    }
    void read_all() {
        uint8_t buf[65536];
        while (fd_ >= 0 && !eof_) {
            const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0) eof_ = true;
            if (n <= 0) break;
            received_ += static_cast<size_t>(n);
            const size_t keep = std::min(static_cast<size_t>(n), kHeadCap - head_.size());
            head_.insert(head_.end(), buf, buf + keep);
        }
    }
    void flush() {
        while (fd_ >= 0 && tx_off_ < tx_.size()) {
            const ssize_t n = ::send(fd_, tx_.data() + tx_off_, tx_.size() - tx_off_,
                                     MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n <= 0) {
                if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                    write_failed_ = true;  // rfbcast closed: drop the rest
                    tx_.clear();
                    tx_off_ = 0;
                }
                break;
            }
            tx_off_ += static_cast<size_t>(n);
        }
        if (tx_off_ == tx_.size()) {
            tx_.clear();
            tx_off_ = 0;
        }
    }
    bool flushed() const { return tx_.empty() || write_failed_; }

    void run_script() {
        const Clock::time_point now = loop_.now();
        while (fd_ >= 0 && !script_done()) {
            const Step& s = script_.steps()[step_];
            if (step_started_ == Clock::time_point{}) step_started_ = now;
            bool next = true;
            switch (s.kind) {
                case Step::kSend:
                    queue(s.bytes);
                    break;
                case Step::kDrip:
                case Step::kSendEvery: {
                    const size_t total = s.kind == Step::kDrip ? s.bytes.size() : s.count;
                    while (progress_ < total && now >= step_started_ + progress_ * s.interval) {
                        if (s.kind == Step::kDrip)
                            queue(Bytes{s.bytes[progress_]});
                        else
                            queue(s.bytes);
                        ++progress_;
                    }
                    next = progress_ >= total;
                    break;
                }
                case Step::kWait:
                    next = now >= step_started_ + s.interval;
                    break;
                case Step::kWaitReceived:
                    next = received_ >= s.count;
                    break;
                case Step::kWaitFlushed:
                    flush();
                    next = flushed();
                    break;
                case Step::kStopReading:
                    reading_ = false;
                    break;
                case Step::kShutdownWrite:
                    flush();
                    next = flushed();
                    if (next) ::shutdown(fd_, SHUT_WR);
                    break;
                case Step::kClose:
                    flush();
                    next = flushed();
                    if (next) close_now();
                    break;
            }
            if (!next) return;
            ++step_;
            progress_ = 0;
            step_started_ = Clock::time_point{};
        }
    }

    EventLoop& loop_;
    int fd_;
    Script script_;
    Clock::time_point started_;
    EventLoop::TimerId timer_ = 0;
    size_t step_ = 0, progress_ = 0;
    Clock::time_point step_started_{};
    Bytes tx_;
    size_t tx_off_ = 0;
    bool write_failed_ = false;
    bool reading_ = true, eof_ = false;
    size_t received_ = 0;
    Bytes head_;
};

// ---------------------------------------------------------------------------------------------
// The bystander: a correct viewer (the codec's client side) that asks for the next update as
// soon as one ends.

class Bystander : public rfb::ServerMessageSink {
  public:
    Bystander(EventLoop& loop, int fd, std::optional<std::string> password) : loop_(loop), fd_(fd) {
        rfb::ClientHandshakeConfig cfg;
        cfg.password = std::move(password);
        handshake_ = std::make_unique<rfb::ClientHandshake>(cfg);
        pump();
    }
    ~Bystander() override {
        if (timer_) loop_.cancel_timer(timer_);
        if (fd_ >= 0) ::close(fd_);
    }
    bool ready() const { return ready_; }
    bool failed() const { return failed_; }
    bool closed() const { return closed_; }
    const std::string& error() const { return error_; }
    int updates() const { return updates_; }
    const rfb::Framebuffer& fb() const { return fb_; }

    void start_streaming() {
        Bytes out = concat(
            {set_pixel_format(WireFormat{}), set_encodings({rfb::encoding::kRaw}), full_request()});
        write_all(out);
    }

    void on_update_end() override {
        ++updates_;
        write_all(update_request(true, 0, 0, kWidth, kHeight));
    }

  private:
    void write_all(const Bytes& b) {
        size_t off = 0;
        while (off < b.size()) {
            const ssize_t n = ::send(fd_, b.data() + off, b.size() - off, MSG_NOSIGNAL);
            if (n <= 0) return;
            off += static_cast<size_t>(n);
        }
    }
    void pump() {
        timer_ = loop_.add_timer(1ms, [this] {
            timer_ = 0;
            read_some();
            if (!closed_ && !failed_) pump();
        });
    }
    void read_some() {
        uint8_t buf[65536];
        for (;;) {
            const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0) closed_ = true;
            if (n <= 0) break;
            rx_.insert(rx_.end(), buf, buf + n);
        }
        if (!ready_) {
            Bytes out;
            const rfb::HandshakeStep step = handshake_->feed(rx_, out);
            rx_.erase(rx_.begin(), rx_.begin() + static_cast<long>(step.consumed));
            write_all(out);
            if (step.status == rfb::HandshakeStep::kFailed) {
                failed_ = true;
                error_ = step.error;
                return;
            }
            if (step.status != rfb::HandshakeStep::kDone) return;
            const rfb::ServerInitInfo& init = handshake_->server_init();
            fb_.resize(init.width, init.height);
            reader_ = std::make_unique<rfb::ServerMessageReader>(fb_, init.format);
            ready_ = true;
        }
        if (!rx_.empty()) {
            const rfb::ServerReadResult r = reader_->feed(rx_, *this);
            if (r.status == rfb::ServerReadResult::kError) {
                failed_ = true;
                error_ = r.error;
            }
            rx_.erase(rx_.begin(), rx_.begin() + static_cast<long>(r.consumed));
        }
    }

    EventLoop& loop_;
    int fd_;
    EventLoop::TimerId timer_ = 0;
    std::unique_ptr<rfb::ClientHandshake> handshake_;
    std::unique_ptr<rfb::ServerMessageReader> reader_;
    rfb::Framebuffer fb_;
    Bytes rx_;
    bool ready_ = false, failed_ = false, closed_ = false;
    std::string error_;
    int updates_ = 0;
};

class NullUpstream : public UpstreamLink {
  public:
    void start() override {}
    bool connected() const override { return true; }
    void send_key(bool, uint32_t) override { ++keys; }
    void send_pointer(uint8_t, uint16_t, uint16_t) override { ++pointers; }
    void send_cut_text(const std::string& t) override { cut_sizes.push_back(t.size()); }
    std::string describe() const override { return "null"; }
    bool supports_qemu_keys() const override { return true; }
    void send_qemu_key(bool, uint32_t, uint32_t) override { ++qemu_keys; }
    size_t keys = 0, pointers = 0, qemu_keys = 0;
    std::vector<size_t> cut_sizes;
};

// ---------------------------------------------------------------------------------------------
// The cases.

enum class Start {
    kRaw,        // the script is everything the attacker sends, from the first byte
    kAfterInit,  // a 3.8 / None handshake first; the script starts once ServerInit arrived
};

struct HostileCase {
    std::string name;
    Start start = Start::kAfterInit;
    Script script;
    // Empty: the attack is legal RFB and the attacker must stay connected and served.
    // Else the reasons rfbcast may log for closing it ('|' between alternatives).
    std::string reason;
    bool refused = false;      // ended in the handshake: "viewer-refused"
    std::string reply;         // must appear in what rfbcast sent the attacker
    bool password = false;     // the session asks for VNC Authentication
    bool short_stall = false;  // PacingOptions::stall_timeout of 2 s
    // Viewers that allow JPEG get it even on this fast link (SessionOptions::lossless_when_fast
    // off), so the lossy encoders run too.
    bool lossy = false;
    // Set: the attacker's ClientCutText of this size reached the upstream.
    std::optional<size_t> upstream_cut;
    // Set (legal attacks that completed the handshake themselves): ServerInit ends here.
    size_t init_end = 0;
    // Non-empty: a known rfbcast bug this case shows; the case is skipped with this text.
    std::string bug;
};

// Bytes rfbcast sends a 3.8 / None viewer up to the end of ServerInit (the session's name is
// empty): version 12, security list 2, SecurityResult 4, ServerInit 24.
constexpr size_t kInit38 = 12 + 2 + 4 + 24;

Bytes v38_none() {
    return concat({text_bytes("RFB 003.008\n"), Bytes{rfb::security::kNone}, Bytes{1}});
}

void PrintTo(const HostileCase& c, std::ostream* os) {
    *os << c.name;
}

HostileCase closes(std::string name, Script s, std::string reason) {
    HostileCase c;
    c.name = std::move(name);
    c.script = std::move(s);
    c.reason = std::move(reason);
    return c;
}

HostileCase refused(std::string name, Script s, std::string reason, std::string reply = {}) {
    HostileCase c = closes(std::move(name), std::move(s), std::move(reason));
    c.start = Start::kRaw;
    c.refused = true;
    c.reply = std::move(reply);
    return c;
}

HostileCase legal(std::string name, Script s) {
    HostileCase c;
    c.name = std::move(name);
    c.script = std::move(s);
    return c;
}

Script sends(Bytes b) {
    Script s;
    s.send(std::move(b));
    return s;
}

// Sends the bytes, then closes (the message was cut off: rfbcast sees only the close).
Script sends_then_closes(Bytes b) {
    Script s;
    s.send(std::move(b)).wait(30ms).close();
    return s;
}

// A short stall timeout and a viewer that stops reading while it keeps asking.
HostileCase stalled_viewer() {
    Script s;
    s.send(concat({set_encodings({rfb::encoding::kRaw}), full_request()}))
        .wait_received(kInit38 + 1024)
        .stop_reading()
        .send_every(update_request(false, 0, 0, kWidth, kHeight), 20ms, 400);
    HostileCase c = closes("StopsReadingWhileAskingIsClosedAsStalled", s, "not taken for");
    c.short_stall = true;
    return c;
}

// Continuous updates without fences acknowledge nothing: a viewer that stops reading is found
// only by the bytes piling up.
HostileCase stalled_continuous_viewer() {
    namespace enc = rfb::encoding;
    Script s;
    s.send(concat({set_encodings({enc::kRaw, enc::kContinuousUpdates}),
                   continuous_updates(1, 0, 0, kWidth, kHeight)}))
        .wait_received(kInit38 + 1024)
        .stop_reading()
        .wait(8s);
    HostileCase c = closes("ContinuousUpdatesStopsReadingIsClosedAsStalled", s, "not taken for");
    c.short_stall = true;
    return c;
}

// One legal but odd pixel format, then every encoder rfbcast has in turn, each asked for a
// whole frame (with the pseudo-encodings that add cursor, name and size rectangles).
HostileCase every_encoder_in(std::string name, const WireFormat& f) {
    namespace enc = rfb::encoding;
    const std::vector<std::vector<int32_t>> lists = {
        {enc::kRaw},
        {enc::kRRE},
        {enc::kHextile},
        {enc::kZlib, enc::kCompressLevel0 + 9},
        {enc::kZRLE, enc::kCompressLevel0},
        {enc::kZstd},
        {enc::kZSTDRLE},
        {enc::kTight, enc::kCompressLevel0 + 1},
        {enc::kTight, enc::kJpegQuality0, enc::kJpegSubsampGray},
        {enc::kTight, enc::kJpegFineQuality0 + 100, enc::kJpegSubsamp16X},
        {enc::kTightZstd, enc::kJpegQuality0 + 5},
    };
    Script s;
    s.send(set_pixel_format(f));
    for (std::vector<int32_t> l : lists) {
        for (int32_t pseudo : {enc::kCursor, enc::kCursorWithAlpha, enc::kDesktopName,
                               enc::kLastRect, enc::kExtendedDesktopSize, enc::kCopyRect})
            l.push_back(pseudo);
        s.send(concat({set_encodings(l), full_request()})).wait(60ms);
    }
    HostileCase c = legal("EveryEncoderIn" + std::move(name), s);
    c.lossy = true;
    return c;
}

std::vector<HostileCase> all_cases() {
    namespace enc = rfb::encoding;
    std::vector<HostileCase> v;
    auto add = [&v](HostileCase c) { v.push_back(std::move(c)); };

    // --- handshake ---
    add(refused("GarbageVersion", sends(text_bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n")),
                "no valid RFB ProtocolVersion"));
    add(refused("Version3_2", sends(text_bytes("RFB 003.002\n")), "is too old",
                "Unsupported RFB protocol version"));
    add(refused("VersionWithLettersForDigits", sends(text_bytes("RFB 003.0x8\n")),
                "no valid RFB ProtocolVersion"));
    add(refused("PartialVersionThenClose", sends_then_closes(text_bytes("RFB 003")), kPeerClosed));
    add(refused("CloseBeforeAnything", Script().close(), kPeerClosed));
    add(refused("WrongSecurityType",
                sends(concat({text_bytes("RFB 003.008\n"), Bytes{rfb::security::kVncAuth}})),
                "viewer chose security type 2", "Authentication failed"));
    add(refused("SecurityTypeZero", sends(concat({text_bytes("RFB 003.008\n"), Bytes{0}})),
                "viewer chose security type 0"));
    {
        HostileCase c =
            refused("ShortAuthResponseThenClose",
                    sends_then_closes(concat({text_bytes("RFB 003.008\n"),
                                              Bytes{rfb::security::kVncAuth}, Bytes(8, 0x55)})),
                    kPeerClosed);
        c.password = true;
        add(c);
    }
    {
        // The response followed by garbage: checked, refused (after any failure delay), and
        // the garbage never read as messages.
        HostileCase c = refused("LongAuthResponse",
                                sends(concat({text_bytes("RFB 003.008\n"),
                                              Bytes{rfb::security::kVncAuth}, Bytes(200, 0xaa)})),
                                "VNC authentication failed", "Authentication failed");
        c.password = true;
        add(c);
    }
    {
        // Gone before the (delayed) failure answer: either reason is right.
        HostileCase c =
            refused("WrongAuthResponseThenClose",
                    sends_then_closes(concat({text_bytes("RFB 003.008\n"),
                                              Bytes{rfb::security::kVncAuth}, Bytes(16, 0xaa)})),
                    std::string("VNC authentication failed|") + kPeerClosed);
        c.password = true;
        add(c);
    }
    {
        HostileCase c = refused("WrongAuthResponse3_3",
                                sends(concat({text_bytes("RFB 003.003\n"), Bytes(16, 0)})),
                                "VNC authentication failed");
        c.password = true;
        add(c);
    }
    {
        HostileCase c =
            closes("ClientInitThenDisconnect", sends_then_closes(v38_none()), kPeerClosed);
        c.start = Start::kRaw;
        add(c);
    }
    {
        // Apple's 3.889 speaks 3.8 to us.
        HostileCase c = legal(
            "Version3_889",
            sends(concat({text_bytes("RFB 003.889\n"), Bytes{rfb::security::kNone}, Bytes{1}})));
        c.start = Start::kRaw;
        c.init_end = kInit38;
        add(c);
    }
    {
        // 3.5 is a misreported 3.3: the server picks the type, no SecurityResult for None.
        HostileCase c = legal("Version3_5", sends(concat({text_bytes("RFB 003.005\n"), Bytes{1}})));
        c.start = Start::kRaw;
        c.init_end = 12 + 4 + 24;
        add(c);
    }
    {
        HostileCase c = legal(
            "Version4_0",
            sends(concat({text_bytes("RFB 004.000\n"), Bytes{rfb::security::kNone}, Bytes{1}})));
        c.start = Start::kRaw;
        c.init_end = kInit38;
        add(c);
    }
    {
        HostileCase c =
            legal("MessagesPipelinedBeforeServerInit",
                  sends(concat({v38_none(), set_pixel_format(WireFormat{}),
                                set_encodings({enc::kZRLE, enc::kRaw}), full_request(),
                                key_event(1, 'a'), key_event(0, 'a'), pointer_event(0, 5, 5)})));
        c.start = Start::kRaw;
        c.init_end = kInit38;
        add(c);
    }
    {
        HostileCase c = closes("GarbagePipelinedAfterClientInit",
                               sends(concat({v38_none(), Bytes{77, 1, 2, 3}})),
                               "unknown client message type 77");
        c.start = Start::kRaw;
        add(c);
    }

    // --- SetPixelFormat ---
    auto spf = [&](const char* name, WireFormat f, const char* why) {
        add(closes(name, sends(set_pixel_format(f)), std::string("SetPixelFormat: ") + why));
    };
    const char* kBpp = "bits-per-pixel must be 8, 16 or 32";
    const char* kDepth = "depth must be 1..bits-per-pixel";
    const char* kChannel = "colour max must be 2^n-1";
    spf("PixelFormatBpp7", {.bpp = 7, .depth = 7}, kBpp);
    spf("PixelFormatBpp0", {.bpp = 0, .depth = 0}, kBpp);
    spf("PixelFormatBpp64", {.bpp = 64, .depth = 24}, kBpp);
    spf("PixelFormatBpp24BigEndian", {.bpp = 24, .depth = 24, .big_endian = 1}, kBpp);
    spf("PixelFormatDepthOverBpp", {.bpp = 16, .depth = 24}, kDepth);
    spf("PixelFormatDepth0", {.bpp = 32, .depth = 0}, kDepth);
    spf("PixelFormatMax0", {.red_max = 0}, kChannel);
    spf("PixelFormatMaxNotPowerOfTwoMinusOne", {.green_max = 100}, kChannel);
    spf("PixelFormatMax65535TooWide", {.red_max = 65535, .red_shift = 17}, kChannel);
    spf("PixelFormatShift32", {.red_shift = 32}, kChannel);
    spf("PixelFormatShift255", {.blue_shift = 255}, kChannel);
    spf("PixelFormatOverlappingChannels", {.red_shift = 8}, "colour channels overlap");
    spf("PixelFormatColourMap16bpp", {.bpp = 16, .depth = 16, .true_colour = 0},
        "colour-map formats must be 8 bits per pixel");
    add(legal("PixelFormatColourMap8bpp",
              sends(concat(
                  {set_pixel_format({.bpp = 8, .depth = 8, .true_colour = 0}), full_request()}))));
    // A 16-bit red channel over a byte each of green and blue: odd, but it fits in 32 bits.
    add(legal("PixelFormatMax65535Fits",
              sends(concat({set_pixel_format({.red_max = 65535}), set_encodings({enc::kZRLE}),
                            full_request()}))));
    add(legal("PixelFormatBigEndian16",
              sends(concat({set_pixel_format({.bpp = 16,
                                              .depth = 16,
                                              .big_endian = 1,
                                              .red_max = 31,
                                              .green_max = 63,
                                              .blue_max = 31,
                                              .red_shift = 11,
                                              .green_shift = 5,
                                              .blue_shift = 0}),
                            set_encodings({enc::kZRLE}), full_request()}))));
    add(legal("PixelFormatOneBitChannels",
              sends(concat({set_pixel_format({.bpp = 8,
                                              .depth = 3,
                                              .red_max = 1,
                                              .green_max = 1,
                                              .blue_max = 1,
                                              .red_shift = 7,
                                              .green_shift = 6,
                                              .blue_shift = 5}),
                            set_encodings({enc::kHextile}), full_request()}))));

    // --- SetEncodings ---
    add(legal("EncodingsCount0", sends(concat({set_encodings({}), full_request()}))));
    add(legal("EncodingsCount1024",
              sends(concat({set_encodings_count(1024, 1024), full_request()}))));
    add(closes("EncodingsCount1025", sends(set_encodings_count(1025, 1025)),
               "SetEncodings: 1025 encodings exceed the limit of 1024"));
    add(closes("EncodingsCount65535HeaderOnly", sends(set_encodings_count(65535, 0)),
               "SetEncodings: 65535 encodings exceed the limit"));
    add(legal("EncodingsExtremeValues",
              sends(concat({set_encodings({INT32_MIN, INT32_MAX, -1, 0x7fff, -0x7fff, 3, 99, -224,
                                           -223, -239, -314, enc::kTight, -32, -1000}),
                            full_request()}))));

    // --- FramebufferUpdateRequest ---
    add(legal("UpdateRequestOutsideFramebuffer",
              sends(update_request(false, 60000, 60000, 100, 100))));
    add(legal("UpdateRequestZeroSize", sends(update_request(false, 10, 10, 0, 0))));
    add(legal("UpdateRequestHuge", sends(update_request(false, 0, 0, 65535, 65535))));
    add(legal("UpdateRequestWrapsAround",
              sends(update_request(false, 65535, 65535, 65535, 65535))));

    // --- KeyEvent, PointerEvent, QEMU ---
    add(legal("KeyEventExtremes",
              sends(concat({key_event(255, 0xffffffff), key_event(0, 0xffffffff), key_event(1, 0),
                            key_event(0, 0)}))));
    add(legal("PointerEventOutOfRange",
              sends(concat({pointer_event(255, 65535, 65535), pointer_event(0, kWidth, kHeight),
                            pointer_event(0, 0, 0)}))));
    add(closes("QemuBadSubtype", sends(qemu(7, 0, 0, 0)),
               "QEMU client message: unsupported submessage 7"));
    add(legal("QemuKeyEventExtremes",
              sends(concat({qemu(0, 0xffff, 0xffffffff, 0xffffffff), qemu(0, 0, 0xffffffff, 0)}))));

    // --- ClientCutText ---
    add(legal("CutTextLength0", sends(cut_text(0, 0))));
    {
        HostileCase c = legal("CutTextAtTheLimit", sends(cut_text(256 * 1024, 256 * 1024)));
        c.upstream_cut = 256 * 1024;
        add(c);
    }
    add(closes("CutTextOverTheLimit", sends(cut_text(256 * 1024 + 1, 256 * 1024 + 1)),
               "ClientCutText: 262145 bytes exceed the limit of 262144"));
    add(closes("CutTextLength2Pow31", sends(cut_text(0x80000000u, 16)),
               "ClientCutText: 2147483648 bytes exceed the limit"));
    add(closes("CutTextLength2Pow32Minus1", sends(cut_text(0xffffffffu, 16)),
               "extended clipboard payload of 1 bytes has no flags"));
    add(closes("CutTextLength2Pow31Minus1", sends(cut_text(0x7fffffffu, 16)),
               "ClientCutText: 2147483647 bytes exceed the limit"));
    add(legal("ExtendedClipboardBadFlags", sends(extended_clipboard(0xffffffff, Bytes(32, 0xee)))));
    add(legal("ExtendedClipboardZlibBomb", sends(extended_clipboard(0x10000001 /* provide, text */,
                                                                    zlib_bomb(size_t{64} << 20)))));
    add(legal("ExtendedClipboardCapsWithHugeSizes",
              sends(extended_clipboard(0x0100001f /* caps, all formats */, Msg()
                                                                               .u32(0xffffffff)
                                                                               .u32(0xffffffff)
                                                                               .u32(0xffffffff)
                                                                               .u32(0xffffffff)
                                                                               .u32(0xffffffff)
                                                                               .take()))));

    // --- EnableContinuousUpdates ---
    add(legal("ContinuousUpdatesUnannounced",
              sends(continuous_updates(1, 65535, 65535, 65535, 65535))));
    add(legal("ContinuousUpdatesBadArea",
              sends(concat({set_encodings({enc::kRaw, enc::kFence, enc::kContinuousUpdates}),
                            continuous_updates(1, 65000, 0, 65535, 65535),
                            continuous_updates(1, 0, 0, 0, 0), continuous_updates(0, 1, 1, 1, 1),
                            continuous_updates(255, 0, 0, 65535, 65535)}))));

    // --- ClientFence ---
    add(legal("FencePayload0", sends(fence(0x80000000u, 0, 0))));
    {
        HostileCase c = legal("FencePayload64", sends(fence(0x80000007u, 64, 64)));
        c.reply = std::string(64, 'f');  // echoed back
        add(c);
    }
    add(closes("FencePayload65", sends(fence(0x80000000u, 65, 65)),
               "ClientFence: payload of 65 bytes exceeds 64"));
    add(closes("FencePayload255HeaderOnly", sends(fence(0, 255, 0)),
               "ClientFence: payload of 255 bytes exceeds 64"));
    add(legal("FenceAllFlags", sends(fence(0xffffffffu, 4, 4))));

    // --- SetDesktopSize (rfbcast owns no size: ignored) ---
    add(legal("DesktopSize0Screens", sends(set_desktop_size(100, 100, 0, 0))));
    add(closes("DesktopSize255Screens", sends(set_desktop_size(100, 100, 255, 255)),
               "SetDesktopSize: 255 screens exceed 64"));
    add(legal("DesktopSizeBogusSizes", sends(set_desktop_size(0, 0, 64, 64, 65535, 0))));

    // --- unknown message types ---
    for (uint8_t t : {1, 7, 77, 127, 249})
        add(closes("UnknownType" + std::to_string(t), sends(Bytes{t, 0, 0, 0, 0, 0, 0, 0}),
                   "unknown client message type " + std::to_string(t)));

    // --- every message type cut off, then the viewer leaves ---
    const std::pair<const char*, Bytes> whole[] = {
        {"SetPixelFormat", set_pixel_format(WireFormat{})},
        {"SetEncodings", set_encodings({enc::kRaw, enc::kZRLE, enc::kTight})},
        {"UpdateRequest", full_request()},
        {"KeyEvent", key_event(1, 'q')},
        {"PointerEvent", pointer_event(1, 3, 4)},
        {"CutText", cut_text(100, 100)},
        {"ContinuousUpdates", continuous_updates(1, 0, 0, 10, 10)},
        {"Fence", fence(0x80000000u, 8, 8)},
        {"SetDesktopSize", set_desktop_size(100, 100, 1, 1, 100, 100)},
        {"QemuKeyEvent", qemu(0, 1, 'q', 0x10)},
    };
    for (const auto& [name, msg] : whole)
        add(closes(std::string("Truncated") + name + "ThenClose",
                   sends_then_closes(first(msg, msg.size() / 2)), kPeerClosed));

    // --- floods, bounded in count ---
    add(legal("FloodOfUpdateRequests", sends(repeat(full_request(), 5000))));
    add(legal("FloodOfKeyEvents",
              sends(concat({repeat(concat({key_event(1, 'x'), key_event(0, 'x')}), 5000)}))));
    add(legal("FloodOfPointerEvents", sends(repeat(pointer_event(1, 100, 100), 10000))));
    add(legal("FloodOfFormatAndEncodingChanges",
              sends(repeat(concat({set_pixel_format({.bpp = 16,
                                                     .depth = 16,
                                                     .red_max = 31,
                                                     .green_max = 63,
                                                     .blue_max = 31,
                                                     .red_shift = 11,
                                                     .green_shift = 5,
                                                     .blue_shift = 0}),
                                   set_encodings({enc::kZRLE}), full_request(),
                                   set_pixel_format(WireFormat{}), set_encodings({enc::kRaw}),
                                   full_request()}),
                           500))));
    add(legal("FloodOfFenceRequests", sends(repeat(fence(0x80000001u, 64, 64), 2000))));
    add(legal("FloodOfCutTexts", sends(repeat(cut_text(64 * 1024, 64 * 1024), 40))));

    // --- mid-session disconnects ---
    {
        Script s;
        s.send(concat({set_encodings({enc::kRaw}), full_request()}))
            .wait_received(kInit38 + 4096)
            .close();
        add(closes("DisconnectDuringAnUpdate", s, std::string(kPeerClosed) + "|send: "));
    }
    {
        Script s;
        s.send(concat({set_encodings({enc::kTight, enc::kJpegQuality0 + 5}), full_request()}))
            .close();
        add(closes("DisconnectWhileTheUpdateIsEncoded", s, std::string(kPeerClosed) + "|send: "));
    }
    {
        Script s;
        s.wait(20ms).shutdown_write();
        add(closes("HalfClosed", s, kPeerClosed));
    }
    {
        Script s;
        s.send(concat({set_encodings({enc::kRaw}), full_request()})).shutdown_write();
        add(closes("HalfClosedWithARequestPending", s, kPeerClosed));
    }
    add(stalled_viewer());
    add(stalled_continuous_viewer());

    // --- legal but odd pixel formats through every encoder ---
    add(every_encoder_in("ColourMap8bpp", {.bpp = 8, .depth = 8, .true_colour = 0}));
    add(every_encoder_in("OneBitChannels", {.bpp = 8,
                                            .depth = 3,
                                            .red_max = 1,
                                            .green_max = 1,
                                            .blue_max = 1,
                                            .red_shift = 0,
                                            .green_shift = 1,
                                            .blue_shift = 2}));
    add(every_encoder_in("BigEndian16", {.bpp = 16,
                                         .depth = 16,
                                         .big_endian = 1,
                                         .red_max = 31,
                                         .green_max = 63,
                                         .blue_max = 31,
                                         .red_shift = 11,
                                         .green_shift = 5,
                                         .blue_shift = 0}));
    add(every_encoder_in("BigEndian32HighShifts", {.bpp = 32,
                                                   .depth = 24,
                                                   .big_endian = 1,
                                                   .red_shift = 24,
                                                   .green_shift = 16,
                                                   .blue_shift = 8}));
    add(every_encoder_in("SixteenBitRed", {.red_max = 65535}));
    add(every_encoder_in("Depth1In16", {.bpp = 16,
                                        .depth = 1,
                                        .red_max = 1,
                                        .green_max = 1,
                                        .blue_max = 1,
                                        .red_shift = 15,
                                        .green_shift = 7,
                                        .blue_shift = 0}));
    return v;
}

// The handshake deadline is a fixed 10 s: these run side by side in one test.
std::vector<HostileCase> deadline_cases() {
    std::vector<HostileCase> v;
    v.push_back(
        refused("VersionThenSilence", Script().send(text_bytes("RFB 003.008\n")), kDeadline));
    v.push_back(refused("SecurityTypeThenSilence",
                        Script().send(concat({text_bytes("RFB 003.008\n"), Bytes{1}})), kDeadline));
    // One byte every 0.9 s: the version is whole at 9.9 s, the security type would come at
    // 10.8 s. Each byte is progress, none of it buys time.
    v.push_back(refused("SlowlorisOneByteEvery900ms",
                        Script().drip(concat({v38_none(), full_request()}), 900ms), kDeadline));
    // The example: one byte every 9 s is closed at 10 s, not at 18.
    v.push_back(refused("SlowlorisOneByteEvery9s", Script().drip(text_bytes("RFB 003.008\n"), 9s),
                        kDeadline));
    v.push_back(refused("NothingAtAll", Script().wait(1h), kDeadline));
    return v;
}

// ---------------------------------------------------------------------------------------------
// The fixture: one session, its bystander, attackers.

class HostileViewerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        // HOSTILE_VIEWER_LOG=debug also logs every update sent (its quality step, say).
        const char* show = std::getenv("HOSTILE_VIEWER_LOG");
        log_configure(show && std::string(show) == "debug" ? LogLevel::kDebug : LogLevel::kInfo,
                      LogFormat::kText);
        capture_ = std::make_unique<StderrCapture>();
        std::string err;
        loop_ = EventLoop::create(256, &err);
        ASSERT_TRUE(loop_) << err;
        cache_ = std::make_unique<rfb::EncodeCache>(64 << 20);
        pool_ = std::make_unique<EncodePool>(*loop_, 2);
        encoder_ = std::make_unique<TileEncodeService>(*cache_, *pool_);
        base_handlers_ = loop_->handler_count();
    }

    void TearDown() override {
        if (painter_) loop_->cancel_timer(painter_);
        painter_ = 0;
        attackers_.clear();
        bystander_.reset();
        if (session_) session_->close_all_viewers("test over");
        loop_->run_until([&] { return loop_->handler_count() == base_handlers_; }, 6s);
        // Encodes still on the pool (a viewer that left mid-update) complete into the encode
        // service: let them, then take the pool down before the service it calls back into.
        if (pool_) loop_->run_until([&] { return pool_->in_flight() == 0; }, 6s);
        session_.reset();
        pool_.reset();
        encoder_.reset();
        const std::string log = capture_->text();
        capture_.reset();
        // HOSTILE_VIEWER_LOG=1 shows every case's log, not only a failing one's.
        if (HasFailure() || std::getenv("HOSTILE_VIEWER_LOG"))
            std::fprintf(stderr, "--- rfbcast's log ---\n%s", log.c_str());
        log_configure(LogLevel::kInfo, LogFormat::kText);
    }

    static uint32_t picture(uint32_t x, uint32_t y, uint32_t seed) {
        const uint32_t r = (x * 7 + y * 3 + seed * 101) & 0xff;
        const uint32_t g = (x ^ (y + seed)) & 0xff;
        const uint32_t b = ((x / 8) * (y / 8) + seed * 37) & 0xff;
        return (r << 16) | (g << 8) | b;
    }
    void paint(uint32_t seed, uint32_t y0 = 0, uint32_t rows = kHeight) {
        rfb::Framebuffer& fb = session_->framebuffer_for_upstream();
        session_->begin_update();
        for (uint32_t y = y0; y < y0 + rows && y < kHeight; ++y)
            for (uint32_t x = 0; x < kWidth; ++x)
                fb.row(y)[x] = picture(x, y, seed);
        session_->damage(rfb::Rect{0, y0, kWidth, std::min<uint32_t>(rows, kHeight - y0)});
        session_->end_update();
    }
    // The upstream keeps drawing during every attack: one band of rows every 40 ms.
    void start_painter() {
        painter_ = loop_->add_timer(40ms, [this] {
            painter_ = 0;
            ++seed_;
            paint(seed_, (seed_ % 5) * 64, 64);
            start_painter();
        });
    }

    void make_session(bool password, bool short_stall, bool lossy) {
        SessionOptions o;
        o.lossless_when_fast = !lossy;
        o.name = "hostile";
        if (password) o.full_password = kPassword;
        if (short_stall) o.pacing.stall_timeout = 2s;
        session_ = std::make_unique<Session>(*loop_, o, *encoder_);
        session_->set_upstream(&upstream_);
        session_->framebuffer_for_upstream().resize(kWidth, kHeight);
        session_->resized(kWidth, kHeight);
        paint(seed_);
    }

    // A ViewerConnection on one end of a socketpair; the other end is returned.
    int attach(const std::string& peer, uint64_t& id) {
        int sv[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
        Connection::Limits limits;
        limits.rx_cap = kViewerRxCap;
        auto* conn = new Connection(*loop_, sv[0], nullptr, limits, peer);
        std::array<uint8_t, 16> challenge{};
        for (size_t i = 0; i < challenge.size(); ++i)
            challenge[i] = static_cast<uint8_t>(0x5a ^ (i * 13));
        id = ++ids_;
        auto viewer = std::make_unique<ViewerConnection>(*session_, conn, id, challenge);
        ViewerConnection* v = viewer.get();
        session_->add_viewer(std::move(viewer));
        v->start();
        return sv[1];
    }

    bool run_until(const std::function<bool()>& cond, Clock::duration max) {
        loop_->run_until(cond, max);
        return cond();
    }

    // Session, bystander streaming, painter running. The bystander authenticates with the
    // password when the session has one (through the codec's VNC Authentication).
    void start_scene(bool password, bool short_stall, bool lossy = false) {
        make_session(password, short_stall, lossy);
        uint64_t id = 0;
        const int fd = attach("bystander", id);
        bystander_id_ = id;
        bystander_ = std::make_unique<Bystander>(
            *loop_, fd, password ? std::optional<std::string>(kPassword) : std::nullopt);
        ASSERT_TRUE(run_until([&] { return bystander_->ready() || bystander_->failed(); }, 5s));
        ASSERT_FALSE(bystander_->failed()) << bystander_->error();
        bystander_->start_streaming();
        ASSERT_TRUE(
            run_until([&] { return bystander_->updates() >= 1 || bystander_->failed(); }, 5s));
        ASSERT_FALSE(bystander_->failed()) << bystander_->error();
        start_painter();
    }

    struct Running {
        const HostileCase* c;
        uint64_t id;
        std::unique_ptr<Attacker> attacker;
    };

    Running launch(const HostileCase& c) {
        uint64_t id = 0;
        const int fd = attach("attacker-" + c.name, id);
        Script s;
        if (c.start == Start::kAfterInit) s.send(v38_none()).wait_received(kInit38);
        s.then(c.script);
        return Running{&c, id, std::make_unique<Attacker>(*loop_, fd, std::move(s))};
    }

    std::optional<LoggedEnd> logged_end(uint64_t id) const {
        return find_end(capture_->text(), id);
    }

    // The attack ended the way its case says; `budget` bounds the wait.
    void expect_outcome(Running& r, Clock::duration budget) {
        const HostileCase& c = *r.c;
        Attacker& a = *r.attacker;
        if (!c.reason.empty()) {
            std::optional<LoggedEnd> end;
            const bool ended = run_until(
                [&] {
                    end = logged_end(r.id);
                    return end.has_value();
                },
                budget);
            ASSERT_TRUE(ended) << c.name << ": no close logged; script done " << a.script_done()
                               << ", received " << a.received();
            EXPECT_EQ(end->event, c.refused ? "viewer-refused" : "viewer-disconnected") << c.name;
            EXPECT_TRUE(reason_matches(end->reason, c.reason))
                << c.name << ": logged reason \"" << end->reason << "\", expected \"" << c.reason
                << "\"";
            EXPECT_TRUE(std::none_of(end->reason.begin(), end->reason.end(),
                                     [](char ch) { return static_cast<unsigned char>(ch) < 0x20; }))
                << c.name << ": control characters in the logged reason";
            // rfbcast's end of the socket closes too (after any failure reason it still sends).
            if (!a.closed_by_us()) {
                a.resume_reading();
                EXPECT_TRUE(run_until([&] { return a.saw_eof(); }, 8s))
                    << c.name << ": the connection was logged closed but stayed open";
            }
        } else {
            ASSERT_TRUE(run_until([&] { return a.script_done(); }, budget))
                << c.name << ": the script did not finish";
            // Let rfbcast work through everything that was sent.
            loop_->run_until([] { return false; }, 150ms);
            const std::optional<LoggedEnd> end = logged_end(r.id);
            ASSERT_FALSE(end.has_value()) << c.name << ": a legal attack was closed: " << end->event
                                          << " \"" << end->reason << "\"";
            EXPECT_FALSE(a.saw_eof()) << c.name;
            if (c.init_end) {
                ASSERT_TRUE(run_until([&] { return a.received() >= c.init_end; }, 5s))
                    << c.name << ": no ServerInit";
            }
            // Still served: after going back to a sane format it gets a whole Raw frame.
            const size_t before = a.received();
            a.queue(concat({set_pixel_format(WireFormat{}), set_encodings({rfb::encoding::kRaw}),
                            continuous_updates(0, 0, 0, 0, 0), full_request()}));
            EXPECT_TRUE(run_until([&] { return a.received() >= before + kRawFrameBytes; }, 10s))
                << c.name << ": the attacker got " << a.received() - before
                << " bytes after asking for a whole Raw frame";
            // Now it leaves by itself, and that is logged too.
            a.close_now();
            std::optional<LoggedEnd> left;
            ASSERT_TRUE(run_until(
                [&] {
                    left = logged_end(r.id);
                    return left.has_value();
                },
                5s))
                << c.name << ": its disconnect was not logged";
            EXPECT_EQ(left->event, "viewer-disconnected");
            EXPECT_TRUE(reason_matches(left->reason, std::string(kPeerClosed) + "|send: "))
                << left->reason;
        }
        if (!c.reply.empty()) {
            const std::string got(a.head().begin(), a.head().end());
            EXPECT_NE(got.find(c.reply), std::string::npos)
                << c.name << ": rfbcast's reply lacks \"" << c.reply << "\"";
        }
        if (c.upstream_cut) {
            EXPECT_NE(
                std::find(upstream_.cut_sizes.begin(), upstream_.cut_sizes.end(), *c.upstream_cut),
                upstream_.cut_sizes.end())
                << c.name << ": the clipboard did not reach the upstream";
        }
    }

    // The bystander is untouched and shows the newest pixels; only it is left in the session.
    void expect_bystander_fine(int updates_before_attack, Clock::duration attack_took) {
        ASSERT_FALSE(bystander_->failed()) << bystander_->error();
        ASSERT_FALSE(bystander_->closed());
        if (attack_took > 1s) {
            EXPECT_GT(bystander_->updates(), updates_before_attack)
                << "no frame reached the bystander during a " << attack_took / 1ms << " ms attack";
        }
        if (painter_) loop_->cancel_timer(painter_);
        painter_ = 0;
        const uint32_t newest = ++seed_ + 1000;
        paint(newest);
        const rfb::Framebuffer& fb = bystander_->fb();
        auto shows_newest = [&] {
            if (fb.width() != kWidth || fb.height() != kHeight) return false;
            for (uint32_t y = 0; y < kHeight; ++y)
                for (uint32_t x = 0; x < kWidth; ++x)
                    if (fb.at(x, y) != picture(x, y, newest)) return false;
            return true;
        };
        EXPECT_TRUE(run_until([&] { return shows_newest() || bystander_->failed(); }, 10s))
            << "the bystander never showed the frame drawn after the attack";
        EXPECT_FALSE(bystander_->failed()) << bystander_->error();
        EXPECT_FALSE(logged_end(bystander_id_).has_value()) << "the bystander was disconnected";
        EXPECT_TRUE(run_until([&] { return session_->viewer_count() == 1; }, 5s))
            << session_->viewer_count() << " viewers left in the session";
    }

    void run_case(const HostileCase& c) {
        if (!c.bug.empty()) GTEST_SKIP() << "bug: " << c.bug;
        start_scene(c.password, c.short_stall, c.lossy);
        if (HasFatalFailure()) return;
        const int before = bystander_->updates();
        const Clock::time_point t0 = loop_->now();
        Running r = launch(c);
        expect_outcome(r, c.short_stall ? 15s : 8s);
        if (HasFatalFailure()) return;
        expect_bystander_fine(before, loop_->now() - t0);
        if (c.short_stall) {
            EXPECT_EQ(session_->stats().viewers_stalled, 1u);
        }
    }

    std::unique_ptr<StderrCapture> capture_;
    std::unique_ptr<EventLoop> loop_;
    std::unique_ptr<rfb::EncodeCache> cache_;
    std::unique_ptr<EncodePool> pool_;
    std::unique_ptr<TileEncodeService> encoder_;
    size_t base_handlers_ = 0;
    std::unique_ptr<Session> session_;
    NullUpstream upstream_;
    std::unique_ptr<Bystander> bystander_;
    uint64_t bystander_id_ = 0;
    std::vector<Running> attackers_;
    EventLoop::TimerId painter_ = 0;
    uint32_t seed_ = 1;
    uint64_t ids_ = 0;
};

class HostileViewer : public HostileViewerTest,
                      public ::testing::WithParamInterface<HostileCase> {};

TEST_P(HostileViewer, IsHandledAndTheBystanderKeepsWatching) {
    run_case(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Cases, HostileViewer, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<HostileCase>& i) {
                             return i.param.name;
                         });

// Pre-auth clients that never finish are closed at the 10 s deadline, not before, and all at
// once: they do not queue behind each other.
TEST_F(HostileViewerTest, HandshakeDeadlineClosesStalledHandshakesAt10s) {
    start_scene(false, false);
    ASSERT_FALSE(HasFatalFailure());
    const std::vector<HostileCase> cases = deadline_cases();
    const int before = bystander_->updates();
    const Clock::time_point t0 = loop_->now();
    for (const HostileCase& c : cases)
        attackers_.push_back(launch(c));
    std::vector<std::optional<Clock::duration>> closed_after(cases.size());
    run_until(
        [&] {
            for (size_t i = 0; i < cases.size(); ++i)
                if (!closed_after[i] && logged_end(attackers_[i].id))
                    closed_after[i] = loop_->now() - attackers_[i].attacker->started();
            return std::all_of(closed_after.begin(), closed_after.end(),
                               [](const auto& d) { return d.has_value(); });
        },
        14s);
    for (size_t i = 0; i < cases.size(); ++i) {
        ASSERT_TRUE(closed_after[i].has_value()) << cases[i].name << ": still open after 14 s";
        EXPECT_GE(*closed_after[i], 9900ms) << cases[i].name << ": closed before the deadline";
        EXPECT_LE(*closed_after[i], 11500ms) << cases[i].name << ": closed late";
        expect_outcome(attackers_[i], 1s);
    }
    expect_bystander_fine(before, loop_->now() - t0);
}

// A viewer leaves while its tiles are on the encode pool, and the process shuts down before the
// loop turns again, tearing down in main.cpp's order: the TileEncodeService (declared after the
// pool) goes first, then ~EncodePool turns the loop to collect its eventfd read. That completion
// used to run the encodes' `done` closures into the destroyed service (a segfault, found by this
// suite's own teardown); a stopping pool now drops them.
TEST_F(HostileViewerTest, ShutdownWithEncodesInFlightTearsDownInMainsOrder) {
    start_scene(false, false, /*lossy=*/true);
    ASSERT_FALSE(HasFatalFailure());
    HostileCase c = legal(
        "LeavesWhileEncoding",
        sends(concat({set_encodings({rfb::encoding::kTight, rfb::encoding::kJpegQuality0 + 9}),
                      full_request()})));
    Running r = launch(c);
    ASSERT_TRUE(run_until([&] { return pool_->in_flight() > 0; }, 5s));
    r.attacker->close_now();
    // The workers finish and signal the eventfd; the loop does not turn to collect it.
    std::this_thread::sleep_for(300ms);
    // ~EncodePool turns the loop once more: the painter must not fire into the gone session.
    if (painter_) loop_->cancel_timer(painter_);
    painter_ = 0;
    bystander_.reset();
    r.attacker.reset();
    session_.reset();
    encoder_.reset();  // main.cpp: `encoder` is declared after `pool`
    pool_.reset();
    SUCCEED() << "survived";
}

// The case list itself: enough cases, unique names (gtest would reject duplicates anyway).
TEST(HostileViewerCases, AtLeast45DistinctCases) {
    std::vector<std::string> names;
    for (const HostileCase& c : all_cases())
        names.push_back(c.name);
    for (const HostileCase& c : deadline_cases())
        names.push_back(c.name);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
    EXPECT_GE(names.size(), 45u);
}

}  // namespace
}  // namespace rfbcast
