// tcprules: compiles tcpserver's rules from standard input into a cdb.
// Writes rules.tmp, fsyncs it and renames it over rules.cdb, so tcpserver
// sees the old rules or the new ones, never a mix. The format and its
// encoding are described in src/net/rules.hpp.
#include <cerrno>
#include <string_view>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "cdb/cdb.hpp"
#include "io/buffer.hpp"
#include "net/rules.hpp"

using namespace qbox;

static constexpr char kUsage[] = "tcprules rules.cdb rules.tmp";
#define FATAL "tcprules: fatal: "

namespace {

class CdbSink final : public rules::Sink {
 public:
  explicit CdbSink(CdbMaker& mk) : mk_(mk) {}
  int add(std::string_view key, std::string_view value) override { return mk_.add(key, value); }

 private:
  CdbMaker& mk_;
};

// A failed run leaves the old rules.cdb alone and no rules.tmp behind (the
// classic tcprules left the partial rules.tmp).
void drop_temp(const char* fntemp) {
  int e = errno;
  ::unlink(fntemp);
  errno = e;
}

}  // namespace

static int tcprules_main(int argc, char** argv) {
  if (argc < 3) die(kExitPerm, "tcprules: usage: ", kUsage);
  const char* fn = argv[1];
  const char* fntemp = argv[2];

  CdbMaker mk;
  if (mk.start(fn, fntemp) != 0) {
    if (std::string_view(mk.failed_step()) == "create") die_sys(kExitTemp, FATAL "unable to create ", fntemp, ": ");
    die_sys(kExitTemp, FATAL "unable to write to ", fntemp, ": ");
  }

  CdbSink sink(mk);
  char buf[4096];
  Reader in(0, buf);
  Str line;
  for (;;) {
    line.clear();
    int r = in.getline(line);
    if (r < 0) {
      drop_temp(fntemp);
      die_sys(kExitTemp, FATAL "unable to read input: ");
    }
    if (line.empty()) break;
    switch (rules::compile_line(line, sink)) {
      case rules::LineStatus::kBad:
        drop_temp(fntemp);
        die(kExitPerm, FATAL "unable to parse this line: ", rules::shown_line(line));
      case rules::LineStatus::kSinkFailed:
        drop_temp(fntemp);
        die_sys(kExitTemp, FATAL "unable to write to ", fntemp, ": ");
      case rules::LineStatus::kSkip:
      case rules::LineStatus::kRule:
        break;
    }
    if (r == 0) break;
  }

  if (mk.finish() != 0) {
    std::string_view step = mk.failed_step();
    drop_temp(fntemp);
    if (step == "rename") die_sys(kExitTemp, FATAL "unable to move ", fntemp, " to ", fn, ": ");
    die_sys(kExitTemp, FATAL "unable to write to ", fntemp, ": ");
  }
  return 0;
}

extern const AppletInfo applet_tcprules = {"compile tcpserver rules into a cdb", kUsage,
                                           tcprules_main};
