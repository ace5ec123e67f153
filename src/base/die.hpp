// Messages and exit codes, the qmail way: a message is one line on stderr,
// built from parts; a fatal error exits 111 (temporary) or 100 (permanent)
// unless the classic program uses other codes.
#pragma once
#include <initializer_list>
#include <string_view>

namespace qbox {

inline constexpr int kExitTemp = 111;  // try again later
inline constexpr int kExitPerm = 100;  // give up: bad usage or bad input

// The name of the running applet, set by the dispatcher; used by messages
// that do not spell out their program (out_of_memory, fatal()).
extern const char* g_prog;

// djb's wording for errno values ("file does not exist"), which the classic
// programs print where libc would print strerror().
const char* error_str(int e);
// qmail's error_temp: whether errno e is worth retrying (interrupted, out of
// memory, busy, I/O error, disk full, quota, network trouble, stale NFS...).
bool error_temp(int e);

// Writes the parts and a newline to descriptor 2 in one write.
void say(std::initializer_list<std::string_view> parts);
// Same, followed by error_str(errno) (errno as it was on entry).
void say_sys(std::initializer_list<std::string_view> parts);
[[noreturn]] void die_parts(int code, std::initializer_list<std::string_view> parts);
[[noreturn]] void die_sys_parts(int code, std::initializer_list<std::string_view> parts);

template <class... A>
[[noreturn]] void die(int code, const A&... a) { die_parts(code, {std::string_view(a)...}); }
// die(..., "unable to open ", fn, ": ") prints "...: file does not exist".
template <class... A>
[[noreturn]] void die_sys(int code, const A&... a) { die_sys_parts(code, {std::string_view(a)...}); }
template <class... A>
void warn(const A&... a) { say({std::string_view(a)...}); }
template <class... A>
void warn_sys(const A&... a) { say_sys({std::string_view(a)...}); }

// "PROG: fatal: out of memory", exit 111.
[[noreturn]] void out_of_memory();
// "PROG: usage: USAGE", exit 100 (or `code`).
[[noreturn]] void die_usage(const char* usage, int code = kExitPerm);

}  // namespace qbox
