// qmail's control files (control/me, control/locals, ...), read by the rules
// of qmail's control.c, so a file the classic programs accept means the same
// here:
//   - readline: the first line of the file, without its trailing white space
//     (LF, space, tab; also CR, which qmail keeps: a file written on another
//     system would otherwise carry an invisible CR into a host name);
//   - readfile: every line, trailing white space removed, empty lines and
//     lines starting with '#' skipped; each kept line is followed by a NUL;
//   - readint: the leading digits of the first line;
//   - a missing file is not an error: the result is 0 and the caller's
//     default (or control/me, for the files that fall back to it) is used.
// Paths are used as given: the qmail programs run in $QMAILHOME and pass
// "control/X". Every read is bounded (kMaxControlFile).
#pragma once
#include <cstddef>
#include <string_view>

#include "base/str.hpp"

namespace qbox::qmail {

inline constexpr std::size_t kMaxControlFile = 16 << 20;

// Removes trailing LF, CR, space and tab.
void strip_trailing_space(Str& s);
// The lines of a control file's text as readfile returns them: kept lines,
// each followed by a NUL.
void control_lines(std::string_view text, Str& out);

class Control {
 public:
  // Reads control/me (or `me_path`); later reads with flagme fall back to
  // it. 1 read, 0 missing, -1 error (errno).
  int init(const char* me_path = "control/me");
  bool me_ok() const { return me_ok_; }
  std::string_view me() const { return me_.view(); }

  // The first line of fn. 1 read (out may be empty), 0 missing (out is
  // left alone), -1 error (errno; E2BIG or EFBIG past kMaxControlFile).
  static int readline(Str& out, const char* fn);
  // readline, else control/me when flagme and it was read, else def (when
  // not null). 1 when out holds a value, 0 when nothing applied, -1 error.
  int rldef(Str& out, const char* fn, bool flagme, const char* def) const;
  // The number at the start of the first line. 1 read, 0 missing or no
  // digits (value untouched), -1 error; ERANGE when the number is above max.
  static int readint(unsigned long& value, const char* fn, unsigned long max = 0x7fffffff);
  // Every line (see above). 1 read, 0 missing (out empty; or control/me
  // and a NUL when flagme and it was read, and then 1), -1 error.
  int readfile(Str& out, const char* fn, bool flagme) const;

 private:
  Str me_;
  bool me_ok_ = false;
};

}  // namespace qbox::qmail
