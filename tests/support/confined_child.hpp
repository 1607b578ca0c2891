// Test support: work run in a forked child that seccomp confines, so that work which completes
// is known to have made no syscall: the kernel kills the child on any the mode does not allow.
//
//   const auto outcome = run_confined(Confinement::Strict, [&](auto confine) {
//     prepare();                         // free to make syscalls
//     return confine() ? work() : 0;     // none from here on
//   });
//   CHECK(outcome.completed());
//
// The child sends what the work returned (a checksum to compare with the same work done
// unconfined) through a pipe, and leaves with SYS_exit: exit_group, which _exit() uses, is not
// allowed in strict mode.
#pragma once

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstddef>
#include <cstdint>

namespace flagd::test {

enum class Confinement {
  // SECCOMP_MODE_STRICT: read, write, _exit and sigreturn only (killed by SIGKILL). It also turns
  // off the RDTSC instruction, which the vDSO's clock_gettime uses.
  Strict,
  // A filter that allows write and _exit only (killed as by SIGSYS) with the timestamp counter
  // left on: for work that reads the clock.
  WriteAndExit,
};

struct ConfinedOutcome {
  bool exited = false;       // the child left through SYS_exit
  int signal = 0;            // the signal that killed it, if one did
  bool reported = false;     // its value came through the pipe
  std::uint64_t value = 0;   // what the work returned
  bool completed() const noexcept { return exited && signal == 0 && reported; }
};

namespace detail {

inline bool confine(Confinement confinement) noexcept {
  if (confinement == Confinement::Strict) return ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) == 0;
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_write, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = {static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

}  // namespace detail

// Runs `work(confine)` in a child; `confine()` enters the confinement (false if it could not)
// and `work` returns a std::uint64_t.
template <class Work>
ConfinedOutcome run_confined(Confinement confinement, Work&& work) {
  ConfinedOutcome outcome;
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return outcome;
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return outcome;
  }
  if (child == 0) {
    ::close(pipe_fds[0]);
    const std::uint64_t value = work([confinement] { return detail::confine(confinement); });
    (void)!::write(pipe_fds[1], &value, sizeof value);
    ::syscall(SYS_exit, 0);
  }
  ::close(pipe_fds[1]);
  outcome.reported = ::read(pipe_fds[0], &outcome.value, sizeof outcome.value) ==
                     static_cast<ssize_t>(sizeof outcome.value);
  ::close(pipe_fds[0]);
  int status = 0;
  if (::waitpid(child, &status, 0) != child) return outcome;
  outcome.exited = WIFEXITED(status);
  outcome.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return outcome;
}

}  // namespace flagd::test
