// fixcrio: runs a program, inserting a CR before every bare LF in both
// directions (input to the program and its output).
#include "base/applet.hpp"
#include "base/die.hpp"
#include "proc/interpose.hpp"

using namespace qbox;

static constexpr char kUsage[] = "fixcrio program [ arg ... ]";

namespace {

// Adds CR before an LF unless the byte before it (even in the previous
// chunk) was a CR.
struct CrFixer {
  bool in_cr = false, out_cr = false;
  static void fix(std::string_view chunk, Str& out, bool& last_cr) {
    for (char c : chunk) {
      if (c == '\n' && !last_cr) out.push('\r');
      out.push(c);
      last_cr = (c == '\r');
    }
  }
  void in(std::string_view chunk, Str& out) { fix(chunk, out, in_cr); }
  void out(std::string_view chunk, Str& out) { fix(chunk, out, out_cr); }
  void in_eof() {}
  void out_eof() {}
};

}  // namespace

static int fixcrio_main(int argc, char** argv) {
  if (argc < 2) die(kExitPerm, "fixcrio: usage: ", kUsage);
  CrFixer fixer;
  interpose(argv + 1, "fixcrio: fatal: ", fixer);
}

extern const AppletInfo applet_fixcrio = {"run a program, adding CR before bare LF in both directions",
                                          kUsage, fixcrio_main};
