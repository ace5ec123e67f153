// System calls that return -errno instead of setting errno, for a child
// that runs on its parent's memory until its exec (clone(CLONE_VM)): errno
// lives in the thread the child shares with its parent, which goes on
// running, so the child may not write it. kRawSyscalls is false where
// they are not written; callers then use vfork() instead.
#pragma once
#include <sys/syscall.h>

namespace qbox::raw {

#if defined(__x86_64__)
inline constexpr bool kRawSyscalls = true;
inline long syscall4(long n, long a, long b, long c, long d) {
  long ret;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
inline constexpr bool kRawSyscalls = true;
inline long syscall4(long n, long a, long b, long c, long d) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory", "cc");
  return x0;
}
#else
inline constexpr bool kRawSyscalls = false;
inline long syscall4(long, long, long, long, long) { return -38; /* ENOSYS */ }
#endif

template <class A = long, class B = long, class C = long, class D = long>
inline long call(long n, A a = 0, B b = 0, C c = 0, D d = 0) {
  return syscall4(n, (long)a, (long)b, (long)c, (long)d);
}

}  // namespace qbox::raw
