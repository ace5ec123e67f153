#include "qmail/control.hpp"

#include <cerrno>

#include "base/fd.hpp"
#include "base/num.hpp"
#include "io/buffer.hpp"

namespace qbox::qmail {

void strip_trailing_space(Str& s) {
  std::size_t n = s.size();
  while (n > 0) {
    char c = s[n - 1];
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') break;
    --n;
  }
  s.truncate(n);
}

void control_lines(std::string_view text, Str& out) {
  while (!text.empty()) {
    std::string_view line = take_line(text);
    while (!line.empty()) {
      char c = line.back();
      if (c != '\r' && c != ' ' && c != '\t') break;
      line.remove_suffix(1);
    }
    if (line.empty() || line[0] == '#') continue;
    out.append(line);
    out.push('\0');
  }
}

int Control::init(const char* me_path) {
  int r = readline(me_, me_path);
  me_ok_ = r == 1;
  return r;
}

int Control::readline(Str& out, const char* fn) {
  Fd fd(open_read(fn));
  if (!fd) return errno == ENOENT ? 0 : -1;
  char buf[256];
  Reader in(fd.get(), buf);
  Str line;
  if (in.getline(line, '\n', kMaxControlFile) < 0) return -1;
  strip_trailing_space(line);
  out = static_cast<Str&&>(line);
  return 1;
}

int Control::rldef(Str& out, const char* fn, bool flagme, const char* def) const {
  int r = readline(out, fn);
  if (r != 0) return r;
  if (flagme && me_ok_) {
    out = me_.view();
    return 1;
  }
  if (def) {
    out = std::string_view(def);
    return 1;
  }
  return 0;
}

int Control::readint(unsigned long& value, const char* fn, unsigned long max) {
  Str line;
  int r = readline(line, fn);
  if (r != 1) return r;
  Scanned s = scan_num(line.view(), 10, max);
  if (s.used == 0) return 0;
  if (s.overflow) {
    errno = ERANGE;
    return -1;
  }
  value = static_cast<unsigned long>(s.value);
  return 1;
}

int Control::readfile(Str& out, const char* fn, bool flagme) const {
  out.clear();
  Str text;
  Fd fd(open_read(fn));
  if (!fd) {
    if (errno != ENOENT) return -1;
    if (flagme && me_ok_) {
      out.append(me_.view());
      out.push('\0');
      return 1;
    }
    return 0;
  }
  if (read_all(fd.get(), text, kMaxControlFile) < 0) return -1;
  control_lines(text.view(), out);
  return 1;
}

}  // namespace qbox::qmail
