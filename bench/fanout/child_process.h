#pragma once
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

// The reflector under test, run as a child of this tool. It dies with the tool (PDEATHSIG) and
// is stopped with SIGTERM, then SIGKILL after a grace period: only this one PID is ever signalled.
namespace fanout {

class ChildProcess {
  public:
    ChildProcess() = default;
    ~ChildProcess() { stop(std::chrono::milliseconds(2000)); }
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // argv[0] is looked up in PATH when it has no '/'. stdout and stderr go to `log_path`
    // (truncated). False, with `error` set, when it cannot be started.
    bool spawn(const std::vector<std::string>& argv, const std::string& log_path,
               std::string& error);
    pid_t pid() const { return pid_; }
    // False once the child has exited (its status is then in exit_description()).
    bool alive();
    std::string exit_description() const { return exit_; }
    void stop(std::chrono::milliseconds grace);

  private:
    bool reap(bool wait);

    pid_t pid_ = -1;
    std::string exit_;
};

}  // namespace fanout
