// The dispatcher: qbox runs the applet named by the basename of argv[0], or
// by its first argument when it is called as "qbox".
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <unistd.h>

#include "applets/table.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "base/str.hpp"

using namespace qbox;

namespace {

constexpr char kUsage[] =
    "qbox APPLET [ARG...] | qbox --list | qbox --install [--hardlinks] DIR | qbox --help";

std::string_view base_name(const char* path) {
  std::string_view s = path ? path : "";
  std::size_t slash = s.rfind('/');
  return slash == std::string_view::npos ? s : s.substr(slash + 1);
}

void out(std::string_view s) {
  if (write_all(1, s) < 0) die_sys(kExitTemp, "qbox: fatal: unable to write output: ");
}

int list() {
  Str s;
  for (const Applet& a : applets()) {
    s.append(a.name);
    s.push('\n');
  }
  out(s);
  return 0;
}

int help() {
  Str s;
  s.append("qbox: the qmail, ucspi-tcp and daemontools programs in one binary\nusage: ");
  s.append(kUsage);
  s.append("\n\napplets:\n");
  for (const Applet& a : applets()) {
    s.append("  ");
    s.append(a.name);
    for (std::size_t i = a.name.size(); i < 16; ++i) s.push(' ');
    s.push(' ');
    s.append(a.info->summary);
    s.push('\n');
  }
  out(s);
  return 0;
}

// Makes DIR/NAME a link to this binary for every applet; an existing entry
// of that name is replaced atomically (link under a temporary name, rename).
int install(int argc, char** argv) {
  bool hard = false;
  const char* dir = nullptr;
  for (int i = 2; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--hardlinks") hard = true;
    else if (!dir && a.size() && a[0] != '-') dir = argv[i];
    else die_usage(kUsage);
  }
  if (!dir) die_usage(kUsage);
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) die_sys(kExitTemp, "qbox: fatal: unable to find my own binary in /proc/self/exe: ");
  self[n] = 0;
  for (const Applet& a : applets()) {
    Str path(dir), tmp;
    path.push('/');
    path.append(a.name);
    tmp = path;
    tmp.append(".qbox-new");
    ::unlink(tmp.c_str());
    int r = hard ? ::link(self, tmp.c_str()) : ::symlink(self, tmp.c_str());
    if (r != 0) die_sys(kExitTemp, "qbox: fatal: unable to create ", tmp.view(), ": ");
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      int e = errno;
      ::unlink(tmp.c_str());
      errno = e;
      die_sys(kExitTemp, "qbox: fatal: unable to rename ", tmp.view(), " to ", path.view(), ": ");
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view name = base_name(argc > 0 ? argv[0] : nullptr);
  if (name == "qbox") {
    g_prog = "qbox";
    if (argc < 2) die_usage(kUsage);
    std::string_view a = argv[1];
    if (a == "--list") return list();
    if (a == "--help") return help();
    if (a == "--install") return install(argc, argv);
    if (!a.empty() && a[0] == '-') die_usage(kUsage);
    ++argv;
    --argc;
    name = base_name(argv[0]);
  }
  const Applet* applet = find_applet(name);
  if (!applet) die(kExitPerm, "qbox: unknown applet: ", name);
  g_prog = applet->name.data();
  if (running_setuid() && !applet->setuid_safe)
    die(kExitPerm, "qbox: fatal: ", applet->name, " may not run setuid or setgid");
  if (argc == 2 && std::strcmp(argv[1], "--help") == 0) {
    Str s("usage: ");
    s.append(applet->info->usage);
    s.append("\n");
    s.append(applet->info->summary);
    s.append("\n");
    out(s);
    return 0;
  }
  return applet->info->main(argc, argv);
}
