// The C++ runtime pieces that libstdc++'s headers expect and that we do not
// link from libstdc++.a (it is built for glibc). Exceptions are off, so
// every "throw" in a header ends up here and stops the program.
#include <cstddef>
#include <cstdlib>
#include <new>

#include "base/die.hpp"

static void* allocate(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) qbox::out_of_memory();
  return p;
}

static void* allocate_aligned(std::size_t n, std::size_t align) {
  void* p = std::aligned_alloc(align, (n + align - 1) / align * align);
  if (!p) qbox::out_of_memory();
  return p;
}

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n ? n : 1); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n ? n : 1); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate_aligned(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate_aligned(n, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

[[noreturn]] static void logic_failure(const char* what) {
  qbox::die(qbox::kExitTemp, qbox::g_prog, ": fatal: internal error: ", what);
}

namespace std {
// std::stable_sort's temporary buffer asks for memory with nothrow.
const nothrow_t nothrow{};
[[noreturn]] void __throw_bad_alloc() { qbox::out_of_memory(); }
[[noreturn]] void __throw_bad_array_new_length() { qbox::out_of_memory(); }
[[noreturn]] void __throw_length_error(const char* s) { logic_failure(s); }
[[noreturn]] void __throw_out_of_range(const char* s) { logic_failure(s); }
[[noreturn]] void __throw_out_of_range_fmt(const char* s, ...) { logic_failure(s); }
[[noreturn]] void __throw_logic_error(const char* s) { logic_failure(s); }
[[noreturn]] void __throw_invalid_argument(const char* s) { logic_failure(s); }
[[noreturn]] void __throw_bad_function_call() { logic_failure("bad function call"); }
[[noreturn]] void __throw_bad_optional_access() { logic_failure("bad optional access"); }
}  // namespace std

extern "C" [[noreturn]] void __cxa_pure_virtual() { logic_failure("pure virtual call"); }
