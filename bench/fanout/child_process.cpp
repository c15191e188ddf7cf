#include "bench/fanout/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace fanout {

bool ChildProcess::spawn(const std::vector<std::string>& argv, const std::string& log_path,
                         std::string& error) {
    if (argv.empty()) {
        error = "no command";
        return false;
    }
    std::vector<char*> args;
    for (const std::string& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        error = "cannot open " + log_path + ": " + std::strerror(errno);
        return false;
    }
    const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
        error = std::string("fork: ") + std::strerror(errno);
        close(log_fd);
        if (null_fd >= 0) close(null_fd);
        return false;
    }
    if (pid == 0) {
        // Only async-signal-safe calls between fork and exec: this process has threads.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
        execvp(args[0], args.data());
        static const char msg[] = "fanout: exec failed\n";
        [[maybe_unused]] ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
        _exit(127);
    }
    close(log_fd);
    if (null_fd >= 0) close(null_fd);
    pid_ = pid;
    exit_.clear();
    return true;
}

bool ChildProcess::reap(bool wait) {
    if (pid_ <= 0) return true;
    int status = 0;
    const pid_t r = waitpid(pid_, &status, wait ? 0 : WNOHANG);
    if (r == 0) return false;
    if (r == pid_) {
        if (WIFEXITED(status))
            exit_ = "exited with status " + std::to_string(WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
            exit_ = std::string("killed by signal ") + strsignal(WTERMSIG(status));
    } else {
        exit_ = "lost";
    }
    pid_ = -1;
    return true;
}

bool ChildProcess::alive() {
    return !reap(false);
}

void ChildProcess::stop(std::chrono::milliseconds grace) {
    if (pid_ <= 0 || reap(false)) return;
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < deadline) {
        if (reap(false)) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid_, SIGKILL);
    reap(true);
}

}  // namespace fanout
