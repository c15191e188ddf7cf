#pragma once
// Harness for integration tests against real peers: child processes we own, loopback ports,
// X displays, Xvnc / xdraw / rfbcast fixtures, viewer wrappers and image comparison.
//
// Tests run in parallel (ctest -j2), so every resource here is allocated so that two tests can
// never share it: ports come from the kernel (bind port 0), displays are held with an flock'd
// lease file for the fixture's lifetime, and each test has its own temporary directory.
#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace itest {

using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// Files and directories.

// A fresh directory under /tmp. Removed on destruction unless the current test has failed, so
// the logs of a failing run stay for inspection (the path is printed).
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

  private:
    std::string path_;
};

bool write_file(const std::string& path, const std::string& content, mode_t mode = 0600);
std::string read_file(const std::string& path);  // "" when missing
// The last `max_bytes` of a file, for failure messages.
std::string file_tail(const std::string& path, size_t max_bytes = 2000);
// Lines of a text file (without newlines).
std::vector<std::string> read_lines(const std::string& path);
// Polls a file until one of its lines equals `line`.
bool wait_for_line(const std::string& path, const std::string& line, milliseconds timeout);

// ---------------------------------------------------------------------------------------------
// Child processes. Only PIDs started here are ever signalled.

class Process {
  public:
    Process() = default;
    ~Process() { stop(); }
    Process(Process&& o) noexcept;
    Process& operator=(Process&& o) noexcept;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    // fork/exec argv[0] (a path) with stdout/stderr to the given files (appended) and stdin from
    // `stdin_path` (or /dev/null). The child gets SIGKILL if this process dies.
    bool start(const std::vector<std::string>& argv, const std::string& stdout_path,
               const std::string& stderr_path, std::string* error,
               const std::string& stdin_path = "/dev/null");

    pid_t pid() const { return pid_; }
    bool started() const { return pid_ > 0 || status_.has_value(); }
    // True while the child has not exited (reaps it if it has).
    bool running();
    // Waits for exit. Returns the exit code, 128+signal for a signalled child, or nullopt on
    // timeout (the child keeps running).
    std::optional<int> wait_for(milliseconds timeout);
    void signal(int sig);
    // SIGTERM, then SIGKILL after `grace`; always reaps. Returns the exit status as wait_for.
    std::optional<int> stop(milliseconds grace = milliseconds(3000));
    std::optional<int> exit_status() const { return status_; }

  private:
    void reap(int wstatus);

    pid_t pid_ = -1;
    std::optional<int> status_;
};

// ---------------------------------------------------------------------------------------------
// Loopback networking.

// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice for port 0).
int free_tcp_port();
// Connects to 127.0.0.1:port; returns the socket or -1.
int connect_tcp(int port, milliseconds timeout);
// Waits until a TCP connection to 127.0.0.1:port succeeds (or `owner` exits).
bool wait_for_port(int port, milliseconds timeout, Process* owner = nullptr);
// Waits until 127.0.0.1:port answers with an RFB ProtocolVersion greeting. Gives up early when
// `owner` (the process meant to listen there) exits.
bool wait_for_rfb_greeting(int port, milliseconds timeout, Process* owner = nullptr);

// A minimal RFB client on a plain socket, for the hostile-viewer tests.
class RawRfbClient {
  public:
    RawRfbClient() = default;
    ~RawRfbClient();
    RawRfbClient(const RawRfbClient&) = delete;
    RawRfbClient& operator=(const RawRfbClient&) = delete;

    bool connect(int port, milliseconds timeout = milliseconds(5000));
    // ProtocolVersion 3.8, security None, ClientInit(shared), ServerInit. `error` says why not.
    bool handshake_none(std::string* error, milliseconds timeout = milliseconds(5000));
    bool send_bytes(const std::vector<uint8_t>& bytes);
    // Reads (and discards) until the peer closes the connection. False on timeout.
    bool wait_closed(milliseconds timeout);
    // Reads exactly n bytes; false on timeout, error or end of stream.
    bool read_exact(uint8_t* dst, size_t n, milliseconds timeout);
    int fd() const { return fd_; }
    uint16_t width() const { return width_; }
    uint16_t height() const { return height_; }

  private:
    int fd_ = -1;
    uint16_t width_ = 0, height_ = 0;
};

// ---------------------------------------------------------------------------------------------
// X display numbers.

// Holds an X display number: no other test in any process using this harness gets it while the
// lease lives, and no X server was running on it when it was taken.
class DisplayLease {
  public:
    DisplayLease() = default;
    ~DisplayLease();
    DisplayLease(DisplayLease&& o) noexcept;
    DisplayLease& operator=(DisplayLease&& o) noexcept;
    DisplayLease(const DisplayLease&) = delete;
    DisplayLease& operator=(const DisplayLease&) = delete;

    // Takes a free display number, skipping those in `avoid`. False when none is free.
    bool acquire(const std::vector<int>& avoid = {});
    void release();
    int number() const { return number_; }

  private:
    int number_ = -1;
    int lock_fd_ = -1;
};

// ---------------------------------------------------------------------------------------------
// Fixtures.

struct XvncOptions {
    int width = 1024;
    int height = 768;
    std::string password;  // empty: SecurityTypes None; else VncAuth with this password
};

// TigerVNC Xvnc on a leased display and a free port, loopback only.
class XvncServer {
  public:
    XvncServer(const TempDir& dir, XvncOptions opt = {});
    // Starts Xvnc and waits for its RFB greeting; retries other displays/ports on collision.
    bool start(std::string* error);
    void stop() { proc_.stop(); }
    // SIGKILL, as in a crash: the X lock file and socket stay behind.
    void kill_hard();
    // Starts Xvnc again on the same display and port (after stop() or kill_hard()), with a new
    // geometry when width/height are > 0.
    bool restart(std::string* error, int width = 0, int height = 0);
    int width() const { return opt_.width; }
    int height() const { return opt_.height; }

    int display() const { return lease_.number(); }
    std::string display_name() const { return ":" + std::to_string(lease_.number()); }
    int port() const { return port_; }
    const std::string& password() const { return opt_.password; }
    // The plain password (first line) and the vncpasswd-obfuscated file; empty without auth.
    const std::string& plain_password_file() const { return plain_file_; }
    const std::string& vncauth_file() const { return vncauth_file_; }
    Process& process() { return proc_; }
    std::string log_tail() const { return file_tail(log_); }

  private:
    std::vector<std::string> xvnc_args() const;

    const TempDir& dir_;
    XvncOptions opt_;
    DisplayLease lease_;
    Process proc_;
    int port_ = 0;
    int restarts_ = 0;
    std::string log_, plain_file_, vncauth_file_;
};

struct XdrawOptions {
    uint64_t seed = 1;
    bool animate = false;
};

// tests/tools/xdraw on a display: deterministic picture, key log, optional animation.
class Xdraw {
  public:
    Xdraw(const TempDir& dir, XdrawOptions opt = {});
    // Starts xdraw and waits until its first picture is on the display.
    bool start(const std::string& display, std::string* error);
    // Stops/starts the animation and waits until xdraw confirms (its last frame is drawn).
    bool freeze(std::string* error);
    bool unfreeze(std::string* error);
    // Scrolls the top band `steps` times with XCopyArea (see xdraw) and waits until done.
    bool copy_area(int steps, std::string* error);
    const std::string& keylog() const { return keylog_; }
    Process& process() { return proc_; }
    std::string log_tail() const { return file_tail(log_); }

  private:
    bool toggle(bool want_animating, std::string* error);

    const TempDir& dir_;
    XdrawOptions opt_;
    Process proc_;
    std::string keylog_, ready_, log_, copies_;
    bool animating_ = false;
    int toggles_ = 0;
    int copies_done_ = 0;
};

struct RfbcastOptions {
    int upstream_port = 0;  // 0 with demo = true: no upstream
    bool demo = false;
    std::string upstream_password;
    std::string password;           // full-control viewers; empty: no viewer auth
    std::string viewonly_password;  // view-only viewers
    std::string log_level = "debug";
    std::vector<std::string> extra_args;  // appended to the command line
    // Issue 6. `config_file`: passed as --config. `no_upstream`: neither --upstream nor --demo
    // (the sessions come from the config, or dial in). `repeater_listen_address`: when set,
    // --repeater-listen ADDR:<a free port> (repeater_port()).
    std::string config_file;
    bool no_upstream = false;
    std::string repeater_listen_address;
    // Issue 8: the HTTP listener on 127.0.0.1:<a free port> (http_port()); off otherwise, so
    // that tests running at once never meet on the default port 5800.
    bool http = false;
};

// The rfbcast binary (RFBCAST_BIN) with the command line of the issue.
class Rfbcast {
  public:
    Rfbcast(const TempDir& dir, RfbcastOptions opt);
    bool start(std::string* error);
    int port() const { return port_; }
    int repeater_port() const { return repeater_port_; }  // 0 without repeater_listen_address
    int http_port() const { return http_port_; }          // 0 without opt.http
    const std::string& log_path() const { return log_; }
    bool running() { return proc_.running(); }
    Process& process() { return proc_; }
    std::string log_tail() const { return file_tail(log_, 4000); }
    std::string log() const { return read_file(log_); }
    const std::string& password_file() const { return password_file_; }
    const std::string& viewonly_password_file() const { return viewonly_file_; }

  private:
    const TempDir& dir_;
    RfbcastOptions opt_;
    Process proc_;
    int port_ = 0;
    int repeater_port_ = 0;
    int http_port_ = 0;
    std::string log_, password_file_, viewonly_file_, upstream_file_;
};

// ---------------------------------------------------------------------------------------------
// rfbcast's config file and log (issue 6).

// A TOML basic string: quoted, with backslashes, quotes and control characters escaped.
std::string toml_string(const std::string& s);

// One [[session]] table; empty fields are left out. `extra` lines ("key = value", already TOML)
// are appended as they are.
struct SessionSpec {
    std::string name;
    std::string upstream;        // HOST:PORT
    std::string repeater_id;     // "1234"
    std::string listen;          // ADDR:PORT
    std::string reverse_listen;  // ADDR:PORT
    std::vector<std::string> extra;
};
// `globals` ("key = value" lines, already TOML) first, then the sessions' tables.
std::string config_toml(const std::vector<std::string>& globals,
                        const std::vector<SessionSpec>& sessions);

// "2026-01-02T03:04:05.678Z info event key=value ..." lines: the value of `key` (unquoted when it
// was written key="..."; "" when absent), and whether the line is that event.
std::string log_field(const std::string& line, const std::string& key);
bool log_has_event(const std::string& line, const std::string& event);
// The complete lines of `log` that are `event` (and, when `key` is set, whose `key` is `value`).
std::vector<std::string> log_events(const std::string& log, const std::string& event,
                                    const std::string& key = {}, const std::string& value = {});
// Polls `r`'s log until `pred` holds for it (or rfbcast exits, or the timeout passes).
bool wait_for_log(Rfbcast& r, const std::function<bool(const std::string&)>& pred,
                  milliseconds timeout);
// Waits until `r`'s log has at least `n` lines of `event` (with key=value when key is given).
bool wait_for_log_events(Rfbcast& r, const std::string& event, const std::string& key,
                         const std::string& value, size_t n, milliseconds timeout);

// ---------------------------------------------------------------------------------------------
// Viewers.

struct ViewerResult {
    std::optional<int> exit_code;  // nullopt: killed after the harness's own timeout
    std::string out, err;
    std::string encodings_seen;  // from lvc_viewer's "encodings-seen:" line
    std::string cursor;          // from lvc_viewer's "cursor:" line (--print-cursor)
    std::string describe() const;
    bool ok() const { return exit_code && *exit_code == 0; }
};

struct LvcOptions {
    int port = 0;
    std::string encodings = "zrle";
    int bpp = 32;
    std::string password_file;
    std::string username_file;  // with password_file: VeNCrypt Plain (or ARD) credentials
    std::string out_ppm;
    int settle_ms = 700;
    int timeout_ms = 15000;
    long send_key = -1;
    int count_updates_ms = -1;
    int quality = -1;             // >= 0: ask for JPEG at this quality level (lossy)
    std::string extra_encodings;  // "N,N,...": more (pseudo-)encodings to ask for, appended
    int hold_ms = -1;  // hold mode: stay connected this long (or until SIGUSR1), then grab
    bool print_cursor = false;
    std::string repeater_dest;  // "ID:1234" or "host:port": the port is an UltraVNC repeater
    bool verbose = false;       // libvncclient's own log on stderr (e.g. the failure reason)
};

// Starts tests/tools/lvc_viewer; `tag` names its log files in `dir`.
bool start_lvc_viewer(const TempDir& dir, const LvcOptions& opt, const std::string& tag,
                      Process& proc, std::string* error);
// Collects the result of a viewer started with start_lvc_viewer (waits at most `timeout`).
ViewerResult finish_viewer(const TempDir& dir, const std::string& tag, Process& proc,
                           milliseconds timeout);
ViewerResult run_lvc_viewer(const TempDir& dir, const LvcOptions& opt, const std::string& tag);

struct SnapshotOptions {
    int port = 0;
    // vncsnapshot is a TightVNC 1.2.8 viewer: no ZRLE, and its Tight decoder breaks on Xvnc's
    // stream, so Hextile/Raw are what it can really use.
    std::string encodings = "hextile";
    std::string vncauth_file;  // vncpasswd -f format, as vncsnapshot -passwd wants
    std::string out_jpeg;
    int timeout_ms = 20000;
    // 0..9: ask for Tight's JPEG at this level (-jpeg -vncQuality N); -1: -nojpeg (lossless).
    int vnc_quality = -1;
};
// vncsnapshot only writes JPEG (quality 100 here); see compare notes in the tests.
ViewerResult run_vncsnapshot(const TempDir& dir, const SnapshotOptions& opt,
                             const std::string& tag);

// Writes `password` through `vncpasswd -f` into `path` (the classic obfuscated VNC format).
bool make_vncauth_file(const TempDir& dir, const std::string& password, const std::string& path,
                       std::string* error);

// ---------------------------------------------------------------------------------------------
// Images.

struct Image {
    int width = 0, height = 0;
    std::vector<uint8_t> rgb;  // width * height * 3
    uint32_t at(int x, int y) const {
        size_t i = (size_t(y) * width + x) * 3;
        return (uint32_t{rgb[i]} << 16) | (uint32_t{rgb[i + 1]} << 8) | rgb[i + 2];
    }
};

bool load_ppm(const std::string& path, Image& out, std::string* error);
bool load_jpeg(const std::string& path, Image& out, std::string* error);

struct ImageDiff {
    bool same_size = false;
    size_t differing = 0;  // pixels with any channel further apart than the tolerance
    int first_x = -1, first_y = -1;
    uint32_t first_a = 0, first_b = 0;
    int max_delta = 0;  // the largest channel difference anywhere
    bool equal() const { return same_size && differing == 0; }
    // "N pixels differ, first at (x,y) #rrggbb vs #rrggbb" (or a size mismatch).
    std::string describe() const;
};

ImageDiff compare_images(const Image& a, const Image& b, int tolerance = 0);
// Pixel equality (within `tolerance` per channel) as a test assertion; the failure names `what`
// and describes the difference.
::testing::AssertionResult same_pixels(const Image& expected, const Image& actual,
                                       const std::string& what, int tolerance = 0);
size_t distinct_colours(const Image& img);

// ---------------------------------------------------------------------------------------------
// X screens: a bare Xvfb for GUI viewers, and the X server's own picture of a screen.

struct XvfbOptions {
    int width = 1024;
    int height = 768;
};

// Xvfb on a leased display, depth 24, black root, no TCP, no screen saver, and no window
// manager: a top-level window is exactly where and as large as its client puts it.
class XvfbServer {
  public:
    XvfbServer(const TempDir& dir, XvfbOptions opt = {});
    // Starts Xvfb and waits for its socket; retries other displays on collision.
    bool start(std::string* error);
    void stop() { proc_.stop(); }
    int width() const { return opt_.width; }
    int height() const { return opt_.height; }
    std::string display_name() const { return ":" + std::to_string(lease_.number()); }
    Process& process() { return proc_; }
    std::string log_tail() const { return file_tail(log_); }

  private:
    const TempDir& dir_;
    XvfbOptions opt_;
    DisplayLease lease_;
    Process proc_;
    std::string log_;
};

// Decodes an XWD dump in ZPixmap format at 32 bits per pixel (what `xwd` writes for a depth 24
// screen) into RGB. Every header field and length is checked against the file.
bool load_xwd_image(const std::string& path, Image& out, std::string* error);
// `xwd -root` of `display` into `out_path`, then load_xwd_image.
bool grab_x_root(const TempDir& dir, const std::string& display, const std::string& out_path,
                 Image& out, std::string* error);
// Geometry of the direct children of the root window (top-level windows without a window
// manager), from `xwininfo -root -children`.
struct XWindowGeometry {
    int width = 0, height = 0, x = 0, y = 0;
};
bool x_root_children(const TempDir& dir, const std::string& display,
                     std::vector<XWindowGeometry>& out, std::string* error);

// ---------------------------------------------------------------------------------------------
// TigerVNC's vncviewer (FLTK), full screen on an X display of its own.

struct TigerViewerOptions {
    int port = 0;
    std::string display;            // the X display to open the window on (an XvfbServer)
    std::string encoding = "ZRLE";  // -PreferredEncoding: Tight, ZRLE, Hextile or Raw
    int quality = -1;               // 0..9: -QualityLevel; -1: -NoJPEG (lossless)
    int compress = 2;               // -CompressLevel
    std::string vncauth_file;       // -PasswordFile (vncpasswd -f format); empty: None
    // -SecurityTypes when set (e.g. "TLSVnc", "X509Vnc"); empty: VncAuth or None as above.
    std::string security_types;
    std::string x509_ca;  // -X509CA: the PEM the server's certificate must chain to
};

// Starts vncviewer with no dialogs (no reconnect or error pop-ups, no menu key hint overlay, no
// debug statistics overlay) and HOME in `dir`, so it never reads or writes the user's settings.
// Its log goes to `tag`.log in `dir`.
bool start_tigervnc_viewer(const TempDir& dir, const TigerViewerOptions& opt,
                           const std::string& tag, Process& proc, std::string* error);

// The binaries under test; fail loudly when CMake did not build them.
const char* rfbcast_bin();
const char* xdraw_bin();
const char* lvc_viewer_bin();

}  // namespace itest
