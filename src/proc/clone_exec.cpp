#include "proc/clone_exec.hpp"

#include <cerrno>
#include <cstring>
#include <csignal>
#include <sched.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "base/die.hpp"
#include "base/num.hpp"
#include "proc/exec.hpp"
#include "proc/rawsys.hpp"

namespace qbox {

// What one child needs, copied before it starts (the parent changes its
// own copies for the next connection while the child runs), at the start
// of the slot's area, below its stack: all in the mapping that idle()
// gives back.
struct CloneExec::Slot {
  int busy;  // nonzero from start() to the child's exec or exit
  int fd;
  char* const* argv;
  const Str* paths;
  char** envv;       // in the area, then the strings, then text
  const char* text;  // the log lines' heads and tails, the failure's head
  std::size_t head[2], tail[2], fail_head;  // lengths in text
};

namespace {

void put(iovec* v, int& n, std::string_view s) {
  if (s.empty()) return;
  v[n].iov_base = const_cast<char*>(s.data());
  v[n].iov_len = s.size();
  ++n;
}

}  // namespace

bool CloneExec::supported() { return raw::kRawSyscalls; }

int CloneExec::child(void* arg) {
  const Slot& s = *static_cast<const Slot*>(arg);
  std::size_t text_len = s.head[0] + s.tail[0] + s.head[1] + s.tail[1] + s.fail_head;
  std::string_view text(s.text, text_len);
  char num[kNumDigits];
  std::string_view pid = fmt_num(num, static_cast<unsigned long>(raw::call(SYS_getpid)));

  iovec v[8];
  int n = 0;
  for (int i = 0; i < 2; ++i) {
    std::string_view head = text.substr(0, s.head[i]);
    std::string_view tail = text.substr(s.head[i], s.tail[i]);
    text.remove_prefix(s.head[i] + s.tail[i]);
    if (head.empty()) continue;
    put(v, n, head);
    put(v, n, pid);
    put(v, n, tail);
    put(v, n, "\n");
  }
  if (n) (void)raw::call(SYS_writev, 2, v, n);
  std::string_view fail_head = text.substr(0, s.fail_head);

  // The parent takes SIGCHLD through a signalfd; the program must not
  // inherit it blocked.
  unsigned long chld = 1UL << (SIGCHLD - 1);
  (void)raw::call(SYS_rt_sigprocmask, SIG_UNBLOCK, &chld, nullptr, sizeof chld);

  const char* what = "unable to set up descriptors: ";
  std::string_view arg0;
  long r = 0;
  if (s.fd != 0) r = raw::call(SYS_dup3, s.fd, 0, 0);
  if (r >= 0 && s.fd != 1) r = raw::call(SYS_dup3, s.fd, 1, 0);
  if (r >= 0) {
    if (s.fd > 1) (void)raw::call(SYS_close, s.fd);
    r = -exec_listed_raw(*s.paths, s.argv, s.envv);
    what = "unable to run ";
    arg0 = s.argv[0];
  }
  n = 0;
  put(v, n, fail_head);
  put(v, n, what);
  if (!arg0.empty()) {
    put(v, n, arg0);
    put(v, n, ": ");
  }
  put(v, n, error_str(static_cast<int>(-r)));
  put(v, n, "\n");
  (void)raw::call(SYS_writev, 2, v, n);
  return kExitTemp;
}

char* CloneExec::area(std::size_t i) const { return stacks_ + i * (kGuard + kArea) + kGuard; }

CloneExec::Slot* CloneExec::free_slot() {
  if (!stacks_) {
    void* m = ::mmap(nullptr, kSlots * (kGuard + kArea), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    stacks_ = static_cast<char*>(m);
    // A guard page between the areas.
    for (std::size_t i = 0; i < kSlots; ++i) (void)::mprotect(area(i) - kGuard, kGuard, PROT_NONE);
  }
  for (std::size_t i = 0; i < kSlots; ++i) {
    Slot* s = reinterpret_cast<Slot*>(area(i));
    if (__atomic_load_n(&s->busy, __ATOMIC_ACQUIRE) == 0) return s;
  }
  return nullptr;
}

pid_t CloneExec::start(const Job& job) {
  if (!supported()) return 0;
  std::size_t count = 0, strings = 0;
  for (char* const* e = job.envp; *e; ++e, ++count) strings += std::strlen(*e) + 1;
  std::size_t text = job.head[0].size() + job.tail[0].size() + job.head[1].size() +
                     job.tail[1].size() + job.fail_head.size();
  // The slot, the environment's pointers and strings, the text: all below the stack.
  std::size_t need = sizeof(Slot) + (count + 1) * sizeof(char*) + strings + text;
  if (need > kArea - kStack) return 0;
  Slot* s = free_slot();
  if (!s) return 0;

  s->fd = job.fd;
  s->argv = job.argv;
  s->paths = job.paths;
  s->envv = reinterpret_cast<char**>(s + 1);
  char* p = reinterpret_cast<char*>(s->envv + count + 1);
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t n = std::strlen(job.envp[i]) + 1;
    std::memcpy(p, job.envp[i], n);
    s->envv[i] = p;
    p += n;
  }
  s->envv[count] = nullptr;
  s->text = p;
  auto add = [&](std::string_view x) {
    std::memcpy(p, x.data(), x.size());
    p += x.size();
    return x.size();
  };
  for (int i = 0; i < 2; ++i) {
    s->head[i] = add(job.head[i]);
    s->tail[i] = add(job.tail[i]);
  }
  s->fail_head = add(job.fail_head);

  __atomic_store_n(&s->busy, 1, __ATOMIC_RELEASE);
  used_ = true;
  char* stack_top = reinterpret_cast<char*>(s) + kArea;
  pid_t pid = ::clone(child, stack_top, CLONE_VM | CLONE_CHILD_CLEARTID | SIGCHLD, s, nullptr,
                      nullptr, &s->busy);
  if (pid < 0) __atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
  return pid;
}

void CloneExec::idle() {
  if (!used_) return;
  for (std::size_t i = 0; i < kSlots; ++i)
    if (__atomic_load_n(&reinterpret_cast<Slot*>(area(i))->busy, __ATOMIC_ACQUIRE) != 0) return;
  // The slots' words read 0 again: all free.
  (void)::madvise(stacks_, kSlots * (kGuard + kArea), MADV_DONTNEED);
  used_ = false;
}

CloneExec::~CloneExec() {
  if (stacks_) ::munmap(stacks_, kSlots * (kGuard + kArea));
}

}  // namespace qbox
