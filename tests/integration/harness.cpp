#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <turbojpeg.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_set>

#ifndef RFBCAST_BIN
#define RFBCAST_BIN ""
#endif
#ifndef XDRAW_BIN
#define XDRAW_BIN ""
#endif
#ifndef LVC_VIEWER_BIN
#define LVC_VIEWER_BIN ""
#endif

namespace itest {

namespace {

using Clock = std::chrono::steady_clock;

void sleep_ms(int ms) {
    std::this_thread::sleep_for(milliseconds(ms));
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

// Resolves a program name through PATH in the parent, so the child only has to execv.
std::string find_program(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        if (dir.empty()) continue;
        std::string candidate = dir + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return {};
}

int remove_entry(const char* path, const struct stat*, int, struct FTW*) {
    ::remove(path);
    return 0;
}

std::string hex_colour(uint32_t c) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "#%06x", c & 0xffffff);
    return buf;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

TempDir::TempDir() {
    char tmpl[] = "/tmp/rfbcast-it-XXXXXX";
    if (!::mkdtemp(tmpl)) {
        ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
        return;
    }
    path_ = tmpl;
}

TempDir::~TempDir() {
    if (path_.empty()) return;
    if (::testing::Test::HasFailure()) {
        std::fprintf(stderr, "[harness] keeping %s for inspection\n", path_.c_str());
        return;
    }
    ::nftw(path_.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

bool write_file(const std::string& path, const std::string& content, mode_t mode) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return false;
    size_t off = 0;
    while (off < content.size()) {
        ssize_t n = ::write(fd, content.data() + off, content.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ::close(fd);
            return false;
        }
        off += static_cast<size_t>(n);
    }
    return ::close(fd) == 0;
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return {};
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string file_tail(const std::string& path, size_t max_bytes) {
    std::string s = read_file(path);
    if (s.size() > max_bytes) s = "..." + s.substr(s.size() - max_bytes);
    return s;
}

std::vector<std::string> read_lines(const std::string& path) {
    std::vector<std::string> lines;
    std::stringstream ss(read_file(path));
    std::string line;
    while (std::getline(ss, line))
        lines.push_back(line);
    return lines;
}

bool wait_for_line(const std::string& path, const std::string& line, milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    do {
        for (const auto& l : read_lines(path))
            if (l == line) return true;
        sleep_ms(50);
    } while (Clock::now() < deadline);
    return false;
}

// ---------------------------------------------------------------------------------------------

Process::Process(Process&& o) noexcept : pid_(o.pid_), status_(o.status_) {
    o.pid_ = -1;
}

Process& Process::operator=(Process&& o) noexcept {
    if (this != &o) {
        stop();
        pid_ = o.pid_;
        status_ = o.status_;
        o.pid_ = -1;
    }
    return *this;
}

bool Process::start(const std::vector<std::string>& argv, const std::string& stdout_path,
                    const std::string& stderr_path, std::string* error,
                    const std::string& stdin_path) {
    stop();
    status_.reset();
    if (argv.empty() || argv[0].empty()) {
        if (error) *error = "no program to run";
        return false;
    }
    std::string program = find_program(argv[0]);
    if (program.empty() || ::access(program.c_str(), X_OK) != 0) {
        if (error) *error = "program not found or not executable: " + argv[0];
        return false;
    }
    // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int in = ::open(stdin_path.c_str(), O_RDONLY | O_CLOEXEC);
    int out = ::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int err = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int report[2] = {-1, -1};
    if (in < 0 || out < 0 || err < 0 || ::pipe2(report, O_CLOEXEC) != 0) {
        if (error) *error = "cannot open child stdio for " + argv[0] + ": " + std::strerror(errno);
        for (int fd : {in, out, err, report[0], report[1]})
            if (fd >= 0) ::close(fd);
        return false;
    }
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
        if (error) *error = std::string("fork: ") + std::strerror(errno);
        for (int fd : {in, out, err, report[0], report[1]})
            ::close(fd);
        return false;
    }
    if (pid == 0) {
        // Never outlive the test process, even if it crashes.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(err, 2);
        int keep = report[1];
        if (keep != 3) {
            ::dup2(keep, 3);
            ::fcntl(3, F_SETFD, FD_CLOEXEC);
            keep = 3;
        }
        ::close_range(4, ~0U, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execv(program.c_str(), args.data());
        int e = errno;
        ssize_t ignored = ::write(keep, &e, sizeof e);
        (void)ignored;
        ::_exit(127);
    }
    for (int fd : {in, out, err, report[1]})
        ::close(fd);
    int child_errno = 0;
    ssize_t n;
    do {
        n = ::read(report[0], &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    ::close(report[0]);
    pid_ = pid;
    if (n > 0) {
        if (error) *error = "exec " + program + ": " + std::strerror(child_errno);
        stop();
        return false;
    }
    return true;
}

void Process::reap(int wstatus) {
    if (WIFEXITED(wstatus))
        status_ = WEXITSTATUS(wstatus);
    else if (WIFSIGNALED(wstatus))
        status_ = 128 + WTERMSIG(wstatus);
    else
        return;
    pid_ = -1;
}

bool Process::running() {
    if (pid_ <= 0) return false;
    int ws = 0;
    pid_t r = ::waitpid(pid_, &ws, WNOHANG);
    if (r == pid_) reap(ws);
    return pid_ > 0;
}

std::optional<int> Process::wait_for(milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (running()) {
        if (Clock::now() >= deadline) return std::nullopt;
        sleep_ms(10);
    }
    return status_;
}

void Process::signal(int sig) {
    if (running()) ::kill(pid_, sig);
}

std::optional<int> Process::stop(milliseconds grace) {
    if (pid_ <= 0) return status_;
    if (running()) ::kill(pid_, SIGTERM);
    if (!wait_for(grace) && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int ws = 0;
        while (::waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
        }
        reap(ws);
    }
    return status_;
}

// ---------------------------------------------------------------------------------------------

namespace {

int kernel_chosen_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

}  // namespace

// The kernel may hand out a port it just freed again, and a test that asks for twenty ports
// before anything binds them then got the same one twice (CI saw two sessions told to listen on
// one port). So no port is handed out twice by one test process.
int free_tcp_port() {
    static std::mutex mutex;
    static std::set<int> handed_out;
    const std::lock_guard<std::mutex> lock(mutex);
    for (int attempt = 0; attempt < 64; ++attempt) {
        const int port = kernel_chosen_port();
        if (port != 0 && handed_out.insert(port).second) return port;
    }
    return 0;
}

int connect_tcp(int port, milliseconds timeout) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    int r = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    if (r != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            r = soerr == 0 ? 0 : -1;
        }
    }
    if (r != 0) {
        ::close(fd);
        return -1;
    }
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

namespace {

// Reads exactly n bytes within the deadline; false on timeout, error or EOF.
bool read_exact_fd(int fd, uint8_t* dst, size_t n, Clock::time_point deadline) {
    size_t got = 0;
    while (got < n) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        int pr = ::poll(&p, 1, static_cast<int>(left));
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) return false;
        ssize_t r = ::recv(fd, dst + got, n - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        got += static_cast<size_t>(r);
    }
    return true;
}

}  // namespace

bool wait_for_port(int port, milliseconds timeout, Process* owner) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (owner && !owner->running()) return false;
        int fd = connect_tcp(port, milliseconds(500));
        if (fd >= 0) {
            ::close(fd);
            return true;
        }
        sleep_ms(100);
    }
    return false;
}

bool wait_for_rfb_greeting(int port, milliseconds timeout, Process* owner) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (owner && !owner->running()) return false;
        int fd = connect_tcp(port, milliseconds(500));
        if (fd >= 0) {
            uint8_t buf[12];
            bool ok = read_exact_fd(fd, buf, sizeof buf, Clock::now() + milliseconds(2000)) &&
                      std::memcmp(buf, "RFB ", 4) == 0;
            ::close(fd);
            if (ok) return true;
        }
        sleep_ms(100);
    }
    return false;
}

RawRfbClient::~RawRfbClient() {
    if (fd_ >= 0) ::close(fd_);
}

bool RawRfbClient::connect(int port, milliseconds timeout) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = connect_tcp(port, timeout);
    return fd_ >= 0;
}

bool RawRfbClient::read_exact(uint8_t* dst, size_t n, milliseconds timeout) {
    return read_exact_fd(fd_, dst, n, Clock::now() + timeout);
}

bool RawRfbClient::handshake_none(std::string* error, milliseconds timeout) {
    auto fail = [&](const std::string& why) {
        if (error) *error = why;
        return false;
    };
    if (fd_ < 0) return fail("not connected");
    uint8_t version[12];
    if (!read_exact(version, sizeof version, timeout)) return fail("no ProtocolVersion");
    if (std::memcmp(version, "RFB 003.", 8) != 0) return fail("bad ProtocolVersion");
    const char reply[] = "RFB 003.008\n";
    if (!send_bytes(std::vector<uint8_t>(reply, reply + 12))) return fail("cannot send version");
    uint8_t count = 0;
    if (!read_exact(&count, 1, timeout)) return fail("no security types");
    if (count == 0) return fail("server refused the connection");
    std::vector<uint8_t> types(count);
    if (!read_exact(types.data(), count, timeout)) return fail("truncated security types");
    bool has_none = false;
    for (uint8_t t : types)
        has_none = has_none || t == 1;
    if (!has_none) return fail("security type None not offered");
    if (!send_bytes({1})) return fail("cannot choose security None");
    uint8_t result[4];
    if (!read_exact(result, 4, timeout)) return fail("no SecurityResult");
    if (result[0] | result[1] | result[2] | result[3]) return fail("SecurityResult failed");
    if (!send_bytes({1})) return fail("cannot send ClientInit");
    uint8_t init[24];
    if (!read_exact(init, sizeof init, timeout)) return fail("no ServerInit");
    width_ = static_cast<uint16_t>((init[0] << 8) | init[1]);
    height_ = static_cast<uint16_t>((init[2] << 8) | init[3]);
    uint32_t name_len = (uint32_t{init[20]} << 24) | (uint32_t{init[21]} << 16) |
                        (uint32_t{init[22]} << 8) | init[23];
    if (name_len > (1u << 20)) return fail("absurd desktop name length");
    std::vector<uint8_t> name(name_len);
    if (name_len && !read_exact(name.data(), name_len, timeout)) return fail("truncated name");
    return true;
}

bool RawRfbClient::send_bytes(const std::vector<uint8_t>& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
        ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        off += static_cast<size_t>(n);
    }
    return true;
}

bool RawRfbClient::wait_closed(milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    uint8_t buf[65536];
    for (;;) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        int pr = ::poll(&p, 1, static_cast<int>(left));
        if (pr < 0 && errno == EINTR) continue;
        if (pr == 0) return false;
        if (pr < 0) return true;
        ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
        if (r == 0) return true;
        if (r < 0 && errno != EINTR && errno != EAGAIN) return true;  // reset by peer
    }
}

// ---------------------------------------------------------------------------------------------

DisplayLease::~DisplayLease() {
    release();
}

DisplayLease::DisplayLease(DisplayLease&& o) noexcept : number_(o.number_), lock_fd_(o.lock_fd_) {
    o.number_ = -1;
    o.lock_fd_ = -1;
}

DisplayLease& DisplayLease::operator=(DisplayLease&& o) noexcept {
    if (this != &o) {
        release();
        number_ = o.number_;
        lock_fd_ = o.lock_fd_;
        o.number_ = -1;
        o.lock_fd_ = -1;
    }
    return *this;
}

namespace {
std::string display_lock_path(int n) {
    return "/tmp/rfbcast-it-display-" + std::to_string(n) + ".lock";
}
}  // namespace

void DisplayLease::release() {
    if (lock_fd_ >= 0) {
        // Unlink while still holding the lock; acquire() rejects a lock on an unlinked file.
        ::unlink(display_lock_path(number_).c_str());
        ::close(lock_fd_);
    }
    lock_fd_ = -1;
    number_ = -1;
}

bool DisplayLease::acquire(const std::vector<int>& avoid) {
    release();
    // Start at a pid-dependent place so parallel test processes rarely even contend.
    constexpr int kFirst = 100, kCount = 800;
    int offset =
        static_cast<int>((::getpid() * 7919u + Clock::now().time_since_epoch().count()) % kCount);
    for (int i = 0; i < kCount; ++i) {
        int n = kFirst + (offset + i) % kCount;
        bool skip = false;
        for (int a : avoid)
            skip = skip || a == n;
        if (skip) continue;
        const std::string lock = display_lock_path(n);
        int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) continue;
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            ::close(fd);
            continue;
        }
        // The holder may have released (and unlinked) the file between our open and flock:
        // then this lock is on an orphaned inode and someone else may hold the new file.
        struct stat by_fd {
        }, by_path{};
        if (::fstat(fd, &by_fd) != 0 || ::stat(lock.c_str(), &by_path) != 0 ||
            by_fd.st_ino != by_path.st_ino || by_fd.st_dev != by_path.st_dev) {
            ::close(fd);
            continue;
        }
        // Another X server (not started by this harness) may own the number.
        if (file_exists("/tmp/.X" + std::to_string(n) + "-lock") ||
            file_exists("/tmp/.X11-unix/X" + std::to_string(n))) {
            ::close(fd);
            continue;
        }
        number_ = n;
        lock_fd_ = fd;
        return true;
    }
    return false;
}

// ---------------------------------------------------------------------------------------------

XvncServer::XvncServer(const TempDir& dir, XvncOptions opt) : dir_(dir), opt_(std::move(opt)) {}

std::vector<std::string> XvncServer::xvnc_args() const {
    std::vector<std::string> args = {"Xvnc",
                                     display_name(),
                                     "-geometry",
                                     std::to_string(opt_.width) + "x" + std::to_string(opt_.height),
                                     "-depth",
                                     "24",
                                     "-rfbport",
                                     std::to_string(port_),
                                     "-localhost",
                                     "-interface",
                                     "127.0.0.1",
                                     "-nolisten",
                                     "tcp",
                                     "-AlwaysShared",
                                     "-BlacklistThreshold",
                                     "100000",
                                     "-SecurityTypes",
                                     opt_.password.empty() ? "None" : "VncAuth"};
    if (!opt_.password.empty()) {
        args.push_back("-rfbauth");
        args.push_back(vncauth_file_);
    }
    return args;
}

bool XvncServer::start(std::string* error) {
    if (!opt_.password.empty()) {
        plain_file_ = dir_.file("xvnc-password.txt");
        vncauth_file_ = dir_.file("xvnc-password.vncauth");
        if (!write_file(plain_file_, opt_.password + "\n")) {
            if (error) *error = "cannot write " + plain_file_;
            return false;
        }
        if (!make_vncauth_file(dir_, opt_.password, vncauth_file_, error)) return false;
    }
    std::vector<int> tried;
    std::string last_error;
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (!lease_.acquire(tried)) {
            last_error = "no free X display number";
            break;
        }
        tried.push_back(lease_.number());
        port_ = free_tcp_port();
        log_ = dir_.file("xvnc-" + std::to_string(attempt) + ".log");
        std::vector<std::string> args = xvnc_args();
        std::string err;
        if (!proc_.start(args, log_, log_, &err)) {
            // A missing Xvnc must fail the test, not skip it: CI installs it.
            if (error) *error = err;
            return false;
        }
        if (wait_for_rfb_greeting(port_, milliseconds(15000), &proc_)) {
            const std::string sock = "/tmp/.X11-unix/X" + std::to_string(lease_.number());
            for (int i = 0; i < 100 && !file_exists(sock); ++i)
                sleep_ms(50);
            if (file_exists(sock)) return true;
            last_error = "Xvnc answers on its RFB port but " + sock + " never appeared";
        } else {
            last_error = "Xvnc did not come up on display " + display_name() + " port " +
                         std::to_string(port_) + "; log:\n" + file_tail(log_);
        }
        proc_.stop();
        lease_.release();
    }
    if (error) *error = last_error;
    return false;
}

void XvncServer::kill_hard() {
    proc_.signal(SIGKILL);
    proc_.wait_for(milliseconds(5000));
}

bool XvncServer::restart(std::string* error, int width, int height) {
    proc_.stop();
    if (width > 0) opt_.width = width;
    if (height > 0) opt_.height = height;
    if (lease_.number() < 0 || port_ <= 0) {
        if (error) *error = "restart() before a successful start()";
        return false;
    }
    ++restarts_;
    log_ = dir_.file("xvnc-restart-" + std::to_string(restarts_) + ".log");
    // The port was just released by the killed server; Xvnc binds with SO_REUSEADDR, but give
    // it a second try in case the kernel has not torn the old listener down yet.
    std::string last_error;
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (!proc_.start(xvnc_args(), log_, log_, error)) return false;
        if (wait_for_rfb_greeting(port_, milliseconds(15000), &proc_)) return true;
        last_error = "Xvnc did not come back on display " + display_name() + " port " +
                     std::to_string(port_) + "; log:\n" + file_tail(log_);
        proc_.stop();
        sleep_ms(200);
    }
    if (error) *error = last_error;
    return false;
}

// ---------------------------------------------------------------------------------------------

Xdraw::Xdraw(const TempDir& dir, XdrawOptions opt) : dir_(dir), opt_(opt) {}

bool Xdraw::start(const std::string& display, std::string* error) {
    keylog_ = dir_.file("keys.log");
    copies_ = dir_.file("xdraw.copies");
    ::unlink(copies_.c_str());
    copies_done_ = 0;
    ready_ = dir_.file("xdraw.ready");
    log_ = dir_.file("xdraw.log");
    write_file(keylog_, "");
    ::unlink(ready_.c_str());
    std::vector<std::string> args = {
        xdraw_bin(), "--display", display,        "--seed", std::to_string(opt_.seed),
        "--keylog",  keylog_,     "--ready-file", ready_,   "--copies-file",
        copies_};
    if (opt_.animate) args.push_back("--animate");
    if (!proc_.start(args, log_, log_, error)) return false;
    animating_ = opt_.animate;
    toggles_ = 0;
    const std::string want = std::string(animating_ ? "animating" : "frozen") + " 0";
    auto deadline = Clock::now() + milliseconds(15000);
    while (Clock::now() < deadline) {
        if (read_file(ready_) == want + "\n") return true;
        if (!proc_.running()) break;
        sleep_ms(50);
    }
    if (error) *error = "xdraw did not draw on " + display + "; log:\n" + file_tail(log_);
    return false;
}

bool Xdraw::toggle(bool want_animating, std::string* error) {
    if (animating_ == want_animating) return true;
    proc_.signal(SIGUSR1);
    ++toggles_;
    animating_ = want_animating;
    const std::string want =
        std::string(animating_ ? "animating " : "frozen ") + std::to_string(toggles_) + "\n";
    auto deadline = Clock::now() + milliseconds(5000);
    while (Clock::now() < deadline) {
        if (read_file(ready_) == want) return true;
        sleep_ms(20);
    }
    if (error) *error = "xdraw did not confirm '" + want + "'; log:\n" + file_tail(log_);
    return false;
}

bool Xdraw::copy_area(int steps, std::string* error) {
    for (int i = 0; i < steps; ++i) {
        proc_.signal(SIGUSR2);
        ++copies_done_;
        // One signal at a time: signals sent back to back may merge into one.
        const std::string want = "copies " + std::to_string(copies_done_) + "\n";
        auto deadline = Clock::now() + milliseconds(5000);
        while (read_file(copies_) != want) {
            if (Clock::now() >= deadline) {
                if (error)
                    *error = "xdraw did not confirm '" + want + "'; log:\n" + file_tail(log_);
                return false;
            }
            sleep_ms(10);
        }
    }
    return true;
}

bool Xdraw::freeze(std::string* error) {
    return toggle(false, error);
}
bool Xdraw::unfreeze(std::string* error) {
    return toggle(true, error);
}

// ---------------------------------------------------------------------------------------------

Rfbcast::Rfbcast(const TempDir& dir, RfbcastOptions opt) : dir_(dir), opt_(std::move(opt)) {}

bool Rfbcast::start(std::string* error) {
    auto fail = [&](const std::string& why) {
        if (error) *error = why;
        return false;
    };
    if (std::string(rfbcast_bin()).empty()) return fail("RFBCAST_BIN is not set");
    // Secrets go through 0600 files, never the command line.
    if (!opt_.password.empty()) {
        password_file_ = dir_.file("rfbcast-password.txt");
        if (!write_file(password_file_, opt_.password + "\n")) return fail("cannot write password");
    }
    if (!opt_.viewonly_password.empty()) {
        viewonly_file_ = dir_.file("rfbcast-viewonly.txt");
        if (!write_file(viewonly_file_, opt_.viewonly_password + "\n"))
            return fail("cannot write view-only password");
    }
    if (!opt_.upstream_password.empty()) {
        upstream_file_ = dir_.file("rfbcast-upstream.txt");
        if (!write_file(upstream_file_, opt_.upstream_password + "\n"))
            return fail("cannot write upstream password");
    }
    std::string last_error;
    for (int attempt = 0; attempt < 3; ++attempt) {
        port_ = free_tcp_port();
        log_ = dir_.file("rfbcast-" + std::to_string(attempt) + ".log");
        std::vector<std::string> args = {rfbcast_bin()};
        if (!opt_.config_file.empty()) {
            args.push_back("--config");
            args.push_back(opt_.config_file);
        }
        if (!opt_.repeater_listen_address.empty()) {
            repeater_port_ = free_tcp_port();
            args.push_back("--repeater-listen");
            args.push_back(opt_.repeater_listen_address + ":" + std::to_string(repeater_port_));
        }
        if (opt_.demo) {
            args.push_back("--demo");
        } else if (!opt_.no_upstream) {
            args.push_back("--upstream");
            args.push_back("127.0.0.1:" + std::to_string(opt_.upstream_port));
            if (!upstream_file_.empty()) {
                args.push_back("--upstream-password-file");
                args.push_back(upstream_file_);
            }
        }
        args.push_back("--listen");
        args.push_back("127.0.0.1:" + std::to_string(port_));
        args.push_back("--http-listen");
        if (opt_.http) {
            http_port_ = free_tcp_port();
            args.push_back("127.0.0.1:" + std::to_string(http_port_));
        } else {
            args.push_back("off");
        }
        if (!password_file_.empty()) {
            args.push_back("--password-file");
            args.push_back(password_file_);
        }
        if (!viewonly_file_.empty()) {
            args.push_back("--viewonly-password-file");
            args.push_back(viewonly_file_);
        }
        args.push_back("--log-level");
        args.push_back(opt_.log_level);
        for (const auto& a : opt_.extra_args)
            args.push_back(a);
        std::string err;
        if (!proc_.start(args, log_, log_, &err)) return fail(err);
        if (wait_for_rfb_greeting(port_, milliseconds(15000), &proc_)) return true;
        auto status = proc_.stop();
        last_error = "rfbcast did not serve on port " + std::to_string(port_) +
                     (status ? " (exit status " + std::to_string(*status) + ")" : "") + "; log:\n" +
                     file_tail(log_);
    }
    return fail(last_error);
}

// ---------------------------------------------------------------------------------------------

std::string toml_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

std::string config_toml(const std::vector<std::string>& globals,
                        const std::vector<SessionSpec>& sessions) {
    std::string out;
    for (const std::string& g : globals)
        out += g + "\n";
    for (const SessionSpec& s : sessions) {
        out += "\n[[session]]\nname = " + toml_string(s.name) + "\n";
        const std::pair<const char*, const std::string*> keys[] = {
            {"upstream", &s.upstream},
            {"repeater_id", &s.repeater_id},
            {"listen", &s.listen},
            {"reverse_listen", &s.reverse_listen}};
        for (const auto& [key, value] : keys)
            if (!value->empty()) out += std::string(key) + " = " + toml_string(*value) + "\n";
        for (const std::string& e : s.extra)
            out += e + "\n";
    }
    return out;
}

std::string log_field(const std::string& line, const std::string& key) {
    const size_t k = line.find(" " + key + "=");
    if (k == std::string::npos) return {};
    const size_t v = k + key.size() + 2;
    if (v < line.size() && line[v] == '"') {
        // Quoted: up to the next unescaped quote.
        std::string out;
        for (size_t i = v + 1; i < line.size(); ++i) {
            if (line[i] == '\\' && i + 1 < line.size()) {
                out += line[++i];
            } else if (line[i] == '"') {
                return out;
            } else {
                out += line[i];
            }
        }
        return out;
    }
    return line.substr(v, line.find(' ', v) - v);
}

bool log_has_event(const std::string& line, const std::string& event) {
    // "<time> <level> <event>[ details]": the third word.
    const size_t a = line.find(' ');
    const size_t b = a == std::string::npos ? a : line.find(' ', a + 1);
    if (b == std::string::npos) return false;
    return line.compare(b + 1, event.size(), event) == 0 &&
           (b + 1 + event.size() == line.size() || line[b + 1 + event.size()] == ' ');
}

std::vector<std::string> log_events(const std::string& log, const std::string& event,
                                    const std::string& key, const std::string& value) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < log.size()) {
        const size_t end = log.find('\n', pos);
        if (end == std::string::npos) break;  // a line still being written
        std::string line = log.substr(pos, end - pos);
        pos = end + 1;
        if (!log_has_event(line, event)) continue;
        if (!key.empty() && log_field(line, key) != value) continue;
        out.push_back(std::move(line));
    }
    return out;
}

// ---------------------------------------------------------------------------------------------

std::string ViewerResult::describe() const {
    std::string s = "exit=" + (exit_code ? std::to_string(*exit_code) : std::string("timeout"));
    s += "\nstdout: " + out +
         "\nstderr: " + (err.size() > 3000 ? "..." + err.substr(err.size() - 3000) : err);
    return s;
}

bool start_lvc_viewer(const TempDir& dir, const LvcOptions& opt, const std::string& tag,
                      Process& proc, std::string* error) {
    if (std::string(lvc_viewer_bin()).empty()) {
        if (error) *error = "LVC_VIEWER_BIN is not set (libvncclient missing at configure time?)";
        return false;
    }
    std::vector<std::string> args = {lvc_viewer_bin(),
                                     "--host",
                                     "127.0.0.1",
                                     "--port",
                                     std::to_string(opt.port),
                                     "--encodings",
                                     opt.encodings,
                                     "--bpp",
                                     std::to_string(opt.bpp),
                                     "--settle-ms",
                                     std::to_string(opt.settle_ms),
                                     "--timeout-ms",
                                     std::to_string(opt.timeout_ms)};
    if (!opt.password_file.empty()) {
        args.push_back("--password-file");
        args.push_back(opt.password_file);
    }
    if (!opt.username_file.empty()) {
        args.push_back("--username-file");
        args.push_back(opt.username_file);
    }
    if (!opt.out_ppm.empty()) {
        args.push_back("--out");
        args.push_back(opt.out_ppm);
    }
    if (opt.send_key >= 0) {
        args.push_back("--send-key");
        args.push_back(std::to_string(opt.send_key));
    }
    if (opt.count_updates_ms > 0) {
        args.push_back("--count-updates-ms");
        args.push_back(std::to_string(opt.count_updates_ms));
    }
    if (opt.hold_ms > 0) {
        args.push_back("--hold-ms");
        args.push_back(std::to_string(opt.hold_ms));
    }
    if (opt.print_cursor) args.push_back("--print-cursor");
    if (opt.quality >= 0) {
        args.push_back("--quality");
        args.push_back(std::to_string(opt.quality));
    }
    if (!opt.extra_encodings.empty()) {
        args.push_back("--extra-encodings");
        args.push_back(opt.extra_encodings);
    }
    if (!opt.repeater_dest.empty()) {
        args.push_back("--repeater-dest");
        args.push_back(opt.repeater_dest);
    }
    if (opt.verbose) args.push_back("--verbose");
    ::unlink(dir.file(tag + ".out").c_str());
    ::unlink(dir.file(tag + ".err").c_str());
    return proc.start(args, dir.file(tag + ".out"), dir.file(tag + ".err"), error);
}

ViewerResult finish_viewer(const TempDir& dir, const std::string& tag, Process& proc,
                           milliseconds timeout) {
    ViewerResult r;
    r.exit_code = proc.wait_for(timeout);
    if (!r.exit_code) proc.stop();
    r.out = read_file(dir.file(tag + ".out"));
    r.err = read_file(dir.file(tag + ".err"));
    const std::string key = "encodings-seen: ";
    size_t at = r.err.rfind(key);
    if (at != std::string::npos) {
        size_t end = r.err.find('\n', at);
        r.encodings_seen = r.err.substr(
            at + key.size(), end == std::string::npos ? std::string::npos : end - at - key.size());
    }
    const std::string ckey = "cursor: ";
    at = r.err.rfind(ckey);
    if (at != std::string::npos) {
        size_t end = r.err.find('\n', at);
        r.cursor =
            r.err.substr(at + ckey.size(),
                         end == std::string::npos ? std::string::npos : end - at - ckey.size());
    }
    return r;
}

ViewerResult run_lvc_viewer(const TempDir& dir, const LvcOptions& opt, const std::string& tag) {
    Process proc;
    std::string error;
    if (!start_lvc_viewer(dir, opt, tag, proc, &error)) {
        ViewerResult r;
        r.exit_code = -1;
        r.err = error;
        return r;
    }
    int budget =
        opt.timeout_ms + std::max(0, opt.count_updates_ms) + std::max(0, opt.hold_ms) + 10000;
    return finish_viewer(dir, tag, proc, milliseconds(budget));
}

ViewerResult run_vncsnapshot(const TempDir& dir, const SnapshotOptions& opt,
                             const std::string& tag) {
    // -allowblank: a blank grab is saved (and fails the comparison with a diff) rather than
    // waited for until the timeout.
    std::vector<std::string> args = {"vncsnapshot", "-quiet",     "-allowblank",
                                     "-nojpeg",     "-nocursor",  "-quality",
                                     "100",         "-encodings", opt.encodings};
    if (opt.vnc_quality >= 0) {
        args[3] = "-jpeg";
        args.push_back("-vncQuality");
        args.push_back(std::to_string(opt.vnc_quality));
    }
    if (!opt.vncauth_file.empty()) {
        args.push_back("-passwd");
        args.push_back(opt.vncauth_file);
    }
    args.push_back("127.0.0.1::" + std::to_string(opt.port));
    args.push_back(opt.out_jpeg);
    Process proc;
    std::string error;
    ::unlink(dir.file(tag + ".out").c_str());
    ::unlink(dir.file(tag + ".err").c_str());
    if (!proc.start(args, dir.file(tag + ".out"), dir.file(tag + ".err"), &error)) {
        ViewerResult r;
        r.exit_code = -1;
        r.err = error;
        return r;
    }
    return finish_viewer(dir, tag, proc, milliseconds(opt.timeout_ms));
}

bool make_vncauth_file(const TempDir& dir, const std::string& password, const std::string& path,
                       std::string* error) {
    const std::string plain = dir.file("vncpasswd-input.tmp");
    if (!write_file(plain, password + "\n")) {
        if (error) *error = "cannot write " + plain;
        return false;
    }
    ::unlink(path.c_str());
    Process proc;
    std::string err;
    bool ok = proc.start({"vncpasswd", "-f"}, path, dir.file("vncpasswd.log"), &err, plain);
    auto status = ok ? proc.wait_for(milliseconds(10000)) : std::nullopt;
    ::unlink(plain.c_str());
    ::chmod(path.c_str(), 0600);
    if (!ok || !status || *status != 0 || read_file(path).size() != 8) {
        if (error) *error = "vncpasswd -f failed: " + err + file_tail(dir.file("vncpasswd.log"));
        return false;
    }
    return true;
}

// ---------------------------------------------------------------------------------------------

bool load_ppm(const std::string& path, Image& out, std::string* error) {
    auto fail = [&](const std::string& why) {
        if (error) *error = path + ": " + why;
        return false;
    };
    std::string data = read_file(path);
    size_t pos = 0;
    auto token = [&]() -> std::string {
        for (;;) {
            while (pos < data.size() && std::isspace(static_cast<unsigned char>(data[pos])))
                ++pos;
            if (pos < data.size() && data[pos] == '#') {
                while (pos < data.size() && data[pos] != '\n')
                    ++pos;
                continue;
            }
            break;
        }
        size_t start = pos;
        while (pos < data.size() && !std::isspace(static_cast<unsigned char>(data[pos])))
            ++pos;
        return data.substr(start, pos - start);
    };
    if (token() != "P6") return fail("not a binary PPM");
    long w = std::strtol(token().c_str(), nullptr, 10);
    long h = std::strtol(token().c_str(), nullptr, 10);
    long maxval = std::strtol(token().c_str(), nullptr, 10);
    if (w <= 0 || h <= 0 || w > 16384 || h > 16384 || maxval != 255) return fail("bad header");
    ++pos;  // the single whitespace after maxval
    size_t need = size_t(w) * size_t(h) * 3;
    if (data.size() < pos || data.size() - pos < need) return fail("truncated pixels");
    out.width = static_cast<int>(w);
    out.height = static_cast<int>(h);
    out.rgb.assign(data.begin() + static_cast<long>(pos),
                   data.begin() + static_cast<long>(pos + need));
    return true;
}

bool load_jpeg(const std::string& path, Image& out, std::string* error) {
    std::string data = read_file(path);
    if (data.empty()) {
        if (error) *error = path + ": missing or empty";
        return false;
    }
    tjhandle tj = tjInitDecompress();
    if (!tj) {
        if (error) *error = "tjInitDecompress failed";
        return false;
    }
    int w = 0, h = 0, subsamp = 0, colorspace = 0;
    auto* src = reinterpret_cast<unsigned char*>(data.data());
    bool ok = tjDecompressHeader3(tj, src, data.size(), &w, &h, &subsamp, &colorspace) == 0 &&
              w > 0 && h > 0 && w <= 16384 && h <= 16384;
    if (ok) {
        out.width = w;
        out.height = h;
        out.rgb.assign(size_t(w) * size_t(h) * 3, 0);
        ok = tjDecompress2(tj, src, data.size(), out.rgb.data(), w, 0, h, TJPF_RGB,
                           TJFLAG_ACCURATEDCT) == 0;
    }
    if (!ok && error) *error = path + ": " + tjGetErrorStr2(tj);
    tjDestroy(tj);
    return ok;
}

std::string ImageDiff::describe() const {
    if (!same_size) return "images differ in size";
    if (differing == 0)
        return "images are equal (max channel delta " + std::to_string(max_delta) + ")";
    return std::to_string(differing) + " pixels differ, first at (" + std::to_string(first_x) +
           "," + std::to_string(first_y) + ") " + hex_colour(first_a) + " vs " +
           hex_colour(first_b) + ", max channel delta " + std::to_string(max_delta);
}

::testing::AssertionResult same_pixels(const Image& expected, const Image& actual,
                                       const std::string& what, int tolerance) {
    const ImageDiff d = compare_images(expected, actual, tolerance);
    if (d.equal()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << what << ": " << d.describe();
}

ImageDiff compare_images(const Image& a, const Image& b, int tolerance) {
    ImageDiff d;
    d.same_size = a.width == b.width && a.height == b.height && a.width > 0 && a.height > 0 &&
                  a.rgb.size() == b.rgb.size();
    if (!d.same_size) return d;
    for (int y = 0; y < a.height; ++y)
        for (int x = 0; x < a.width; ++x) {
            size_t i = (size_t(y) * a.width + x) * 3;
            int worst = 0;
            for (int c = 0; c < 3; ++c)
                worst = std::max(worst, std::abs(a.rgb[i + c] - b.rgb[i + c]));
            d.max_delta = std::max(d.max_delta, worst);
            if (worst > tolerance) {
                if (d.differing == 0) {
                    d.first_x = x;
                    d.first_y = y;
                    d.first_a = a.at(x, y);
                    d.first_b = b.at(x, y);
                }
                ++d.differing;
            }
        }
    return d;
}

size_t distinct_colours(const Image& img) {
    std::unordered_set<uint32_t> seen;
    for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < img.width; ++x)
            seen.insert(img.at(x, y));
    return seen.size();
}

// ---------------------------------------------------------------------------------------------

XvfbServer::XvfbServer(const TempDir& dir, XvfbOptions opt) : dir_(dir), opt_(opt) {}

bool XvfbServer::start(std::string* error) {
    std::vector<int> tried;
    std::string last_error;
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (!lease_.acquire(tried)) {
            last_error = "no free X display number";
            break;
        }
        tried.push_back(lease_.number());
        log_ = dir_.file("xvfb-" + std::to_string(attempt) + ".log");
        // -br: a black root, so any part of the screen a viewer window leaves uncovered shows up
        // in a comparison. -noreset: the screen survives the last client disconnecting.
        const std::vector<std::string> args = {
            "Xvfb",
            display_name(),
            "-screen",
            "0",
            std::to_string(opt_.width) + "x" + std::to_string(opt_.height) + "x24",
            "-nolisten",
            "tcp",
            "-br",
            "-noreset",
            "-s",
            "0"};
        std::string err;
        if (!proc_.start(args, log_, log_, &err)) {
            if (error) *error = err;
            return false;
        }
        const std::string sock = "/tmp/.X11-unix/X" + std::to_string(lease_.number());
        for (int i = 0; i < 200 && proc_.running() && !file_exists(sock); ++i)
            sleep_ms(50);
        if (proc_.running() && file_exists(sock)) return true;
        last_error =
            "Xvfb did not come up on display " + display_name() + "; log:\n" + file_tail(log_);
        proc_.stop();
        lease_.release();
    }
    if (error) *error = last_error;
    return false;
}

namespace {

// An 8-bit channel mask: 0xff shifted into place. Returns the shift, or -1 for other masks.
int channel_shift(uint32_t mask) {
    for (int s = 0; s <= 24; ++s)
        if (mask == (0xffu << s)) return s;
    return -1;
}

}  // namespace

bool load_xwd_image(const std::string& path, Image& out, std::string* error) {
    auto fail = [&](const std::string& why) {
        if (error) *error = path + ": " + why;
        return false;
    };
    const std::string d = read_file(path);
    // The header is 25 big-endian 32-bit fields, then the window name, then the colour map.
    constexpr size_t kFields = 25;
    if (d.size() < kFields * 4) return fail("too short for an XWD header");
    auto field = [&](size_t i) {
        const auto* p = reinterpret_cast<const uint8_t*>(d.data() + i * 4);
        return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    };
    const uint32_t header = field(0), version = field(1), format = field(2), width = field(4),
                   height = field(5), byte_order = field(7), bpp = field(11), bpl = field(12),
                   ncolors = field(19);
    const int rshift = channel_shift(field(14)), gshift = channel_shift(field(15)),
              bshift = channel_shift(field(16));
    if (version != 7 || format != 2 || bpp != 32)
        return fail("not a 32 bpp ZPixmap XWD (version " + std::to_string(version) + " format " +
                    std::to_string(format) + " bpp " + std::to_string(bpp) + ")");
    if (header < kFields * 4 || header > (1u << 20) || ncolors > 65536 || width == 0 ||
        height == 0 || width > 16384 || height > 16384 || bpl < width * 4u || bpl > 16384u * 8)
        return fail("implausible XWD header");
    if (rshift < 0 || gshift < 0 || bshift < 0 || byte_order > 1)
        return fail("unsupported XWD channel masks or byte order");
    const size_t data = size_t{header} + size_t{ncolors} * 12;
    if (d.size() < data || d.size() - data < size_t{bpl} * height) return fail("truncated pixels");
    out.width = static_cast<int>(width);
    out.height = static_cast<int>(height);
    out.rgb.assign(size_t{width} * height * 3, 0);
    for (uint32_t y = 0; y < height; ++y) {
        const auto* row = reinterpret_cast<const uint8_t*>(d.data() + data + size_t{y} * bpl);
        for (uint32_t x = 0; x < width; ++x) {
            const uint8_t* p = row + size_t{x} * 4;
            // byte_order 0 is LSBFirst.
            const uint32_t v = byte_order == 0 ? (uint32_t{p[3]} << 24) | (uint32_t{p[2]} << 16) |
                                                     (uint32_t{p[1]} << 8) | p[0]
                                               : (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                                                     (uint32_t{p[2]} << 8) | p[3];
            uint8_t* o = &out.rgb[(size_t{y} * width + x) * 3];
            o[0] = static_cast<uint8_t>(v >> rshift);
            o[1] = static_cast<uint8_t>(v >> gshift);
            o[2] = static_cast<uint8_t>(v >> bshift);
        }
    }
    return true;
}

bool grab_x_root(const TempDir& dir, const std::string& display, const std::string& out_path,
                 Image& out, std::string* error) {
    const std::string log = dir.file("xwd.log");
    ::unlink(out_path.c_str());
    Process p;
    std::string err;
    if (!p.start({"xwd", "-root", "-silent", "-display", display, "-out", out_path}, log, log,
                 &err)) {
        if (error) *error = "xwd: " + err;
        return false;
    }
    const auto status = p.wait_for(milliseconds(20000));
    if (!status || *status != 0) {
        if (error)
            *error = "xwd -root on " + display + (status ? " failed" : " timed out") + ": " +
                     file_tail(log);
        return false;
    }
    return load_xwd_image(out_path, out, error);
}

bool x_root_children(const TempDir& dir, const std::string& display,
                     std::vector<XWindowGeometry>& out, std::string* error) {
    const std::string path = dir.file("xwininfo.out");
    ::unlink(path.c_str());
    Process p;
    std::string err;
    if (!p.start({"xwininfo", "-root", "-children", "-display", display}, path,
                 dir.file("xwininfo.err"), &err)) {
        if (error) *error = "xwininfo: " + err;
        return false;
    }
    const auto status = p.wait_for(milliseconds(10000));
    if (!status || *status != 0) {
        if (error) *error = "xwininfo failed: " + file_tail(dir.file("xwininfo.err"));
        return false;
    }
    // Child lines end in "WxH+X+Y  +AX+AY"; names come before them and may hold anything.
    out.clear();
    for (const auto& line : read_lines(path)) {
        std::stringstream ss(line);
        std::vector<std::string> tokens;
        std::string t;
        while (ss >> t)
            tokens.push_back(t);
        if (tokens.size() < 3 || tokens[0].rfind("0x", 0) != 0) continue;
        XWindowGeometry g;
        char tail = 0;
        if (std::sscanf(tokens[tokens.size() - 2].c_str(), "%dx%d%d%d%c", &g.width, &g.height, &g.x,
                        &g.y, &tail) == 4)
            out.push_back(g);
    }
    return true;
}

bool start_tigervnc_viewer(const TempDir& dir, const TigerViewerOptions& opt,
                           const std::string& tag, Process& proc, std::string* error) {
    // The menu-key hint ("Press F8...") is an overlay drawn over the desktop for its first
    // seconds in full screen, and at log level 100 vncviewer draws a statistics graph over it:
    // -MenuKey= and an info log level keep the window pure desktop.
    std::vector<std::string> args = {"env",
                                     "HOME=" + dir.path(),
                                     "vncviewer",
                                     "-display",
                                     opt.display,
                                     "-FullScreen",
                                     "-FullScreenMode=Current",
                                     "-PreferredEncoding=" + opt.encoding,
                                     "-AutoSelect=0",
                                     "-FullColor",
                                     "-CompressLevel=" + std::to_string(opt.compress),
                                     "-Shared",
                                     "-ViewOnly",
                                     "-RemoteResize=0",
                                     "-ReconnectOnError=0",
                                     "-AlertOnFatalError=0",
                                     "-AcceptClipboard=0",
                                     "-SendClipboard=0",
                                     "-SendPrimary=0",
                                     "-SetPrimary=0",
                                     "-MenuKey=",
                                     "-Log",
                                     "*:stderr:30"};
    if (opt.quality >= 0) {
        args.push_back("-QualityLevel=" + std::to_string(opt.quality));
        args.push_back("-NoJPEG=0");
    } else {
        args.push_back("-NoJPEG");
    }
    if (!opt.security_types.empty())
        args.push_back("-SecurityTypes=" + opt.security_types);
    else
        args.push_back(opt.vncauth_file.empty() ? "-SecurityTypes=None" : "-SecurityTypes=VncAuth");
    if (!opt.vncauth_file.empty()) args.push_back("-PasswordFile=" + opt.vncauth_file);
    if (!opt.x509_ca.empty()) args.push_back("-X509CA=" + opt.x509_ca);
    args.push_back("127.0.0.1::" + std::to_string(opt.port));
    const std::string log = dir.file(tag + ".log");
    ::unlink(log.c_str());
    return proc.start(args, log, log, error);
}

const char* rfbcast_bin() {
    return RFBCAST_BIN;
}
const char* xdraw_bin() {
    return XDRAW_BIN;
}
const char* lvc_viewer_bin() {
    return LVC_VIEWER_BIN;
}

bool wait_for_log(Rfbcast& r, const std::function<bool(const std::string&)>& pred,
                  milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
        if (pred(r.log())) return true;
        if (!r.running()) return pred(r.log());
        std::this_thread::sleep_for(milliseconds(100));
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
}

bool wait_for_log_events(Rfbcast& r, const std::string& event, const std::string& key,
                         const std::string& value, size_t n, milliseconds timeout) {
    return wait_for_log(
        r, [&](const std::string& log) { return log_events(log, event, key, value).size() >= n; },
        timeout);
}

}  // namespace itest
