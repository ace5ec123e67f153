// multilog's script, read as daemontools 0.76 reads it. Each argument is one
// action, told by its first character:
//   t (first argument only)  put a TAI64N timestamp before each line
//   +pattern / -pattern      select / deselect lines matching the pattern
//   e                        print selected lines to stderr (200 bytes max)
//   =file                    keep the last selected line in file (1001 bytes)
//   sSIZE / nNUM / !proc     settings for the log directories after them
//   ./dir or /dir            a log directory that gets the selected lines
// Anything else is ignored, as 0.76 ignores it: the classic multilog has no
// script syntax errors. Numbers are read as 0.76's scan_ulong reads them
// (leading digits, 0 if none, wrapping on overflow) and then clamped.
#pragma once
#include <string_view>
#include <vector>

namespace qbox::log {

inline constexpr unsigned long kDefaultSize = 99999;
inline constexpr unsigned long kMinSize = 4096;
inline constexpr unsigned long kMaxSize = 16777215;
inline constexpr unsigned long kDefaultNum = 10;
inline constexpr unsigned long kMinNum = 2;

// djb's scan_ulong: the leading decimal digits of s, modulo 2^64; 0 if none.
unsigned long scan_ulong(const char* s);
// The value of "sSIZE" and "nNUM" given the text after the letter.
unsigned long script_size(const char* s);
unsigned long script_num(const char* s);

struct DirSpec {
  const char* dir;
  unsigned long size;
  unsigned long num;
  const char* processor;  // nullptr: none
};

enum class Act : unsigned char { kSelect, kDeselect, kAlert, kStatus, kDir };

// One per-line action, in script order. arg: the pattern or the file name;
// index: the number of the =file or of the directory.
struct Action {
  Act act;
  std::string_view arg;
  unsigned index;
};

struct Script {
  bool timestamp = false;
  std::vector<Action> actions;
  std::vector<const char*> files;  // the =file names, in order
  std::vector<DirSpec> dirs;
  // No + - e or = action: every line goes to every directory.
  bool simple() const { return actions.size() == dirs.size(); }
};

// argv: the script, ending with a null pointer.
Script parse_script(char* const* argv);

}  // namespace qbox::log
