// Starting a program from a server's accept loop with neither fork()'s
// copy of the page tables nor vfork()'s wait for the exec: the child is
// made with clone(CLONE_VM) on a stack of its own and shares the parent's
// memory until its exec. So it touches only its slot (copies of what it
// needs, made before it starts) and makes raw system calls (errno is the
// parent's); the parent leaves the slot alone until the kernel clears the
// slot's word at the child's exec or exit (CLONE_CHILD_CLEARTID). When
// every slot is taken by a child not yet exec'd, start() says so and the
// caller uses vfork() as before.
#pragma once
#include <cstddef>
#include <string_view>
#include <sys/types.h>

#include "base/str.hpp"

namespace qbox {

class CloneExec {
 public:
  struct Job {
    int fd = -1;                    // put on descriptors 0 and 1 (then closed)
    char* const* argv = nullptr;    // argv[0] as exec_paths() was given it
    const Str* paths = nullptr;     // exec_paths(argv[0]): constant while children run
    char* const* envp = nullptr;    // copied
    // Up to two lines for descriptor 2 before the exec, each
    // "head PID tail" with the child's pid; empty heads are left out.
    std::string_view head[2], tail[2];
    // When the exec fails: "fail_head unable to run ARGV0: ERROR", exit 111.
    std::string_view fail_head;
  };

  CloneExec() = default;
  CloneExec(const CloneExec&) = delete;
  CloneExec& operator=(const CloneExec&) = delete;
  ~CloneExec();

  // Whether this build can do it at all (raw system calls written for
  // the architecture).
  static bool supported();

  // The child's pid; 0 when nothing was started (every slot taken, or
  // an environment too big for one); -1 with errno when clone() failed.
  pid_t start(const Job& job);

  // Call when no child started here may still be before its exec (all
  // reaped): gives back the pages the children's stacks used, so that
  // an idle server keeps little memory.
  void idle();

 private:
  struct Slot;
  static int child(void* slot);
  Slot* free_slot();

  char* area(std::size_t i) const;

  // Each slot: a guard page, then its area: the Slot and the copies it
  // points to at the bottom, the child's stack (at most kStack) at the top.
  static constexpr std::size_t kSlots = 4;
  static constexpr std::size_t kArea = 64 * 1024;
  static constexpr std::size_t kStack = 16 * 1024;
  static constexpr std::size_t kGuard = 4096;
  char* stacks_ = nullptr;  // the slots' mapping
  bool used_ = false;
};

}  // namespace qbox
