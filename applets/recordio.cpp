// recordio: runs a program and records its input and output on stderr,
// each line as "PID < line" or "PID > line" ("+" marks a chunk that ended
// without a newline, "[EOF]" the end of each direction).
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/num.hpp"
#include "proc/interpose.hpp"

using namespace qbox;

static constexpr char kUsage[] = "recordio program [ arg ... ]";

namespace {

class Recorder {
 public:
  Recorder() : pid_(fmt_num(pidbuf_, static_cast<unsigned long long>(::getpid()))) {}
  void in(std::string_view chunk, Str& out) { record(chunk, " < "); out.append(chunk); }
  void out(std::string_view chunk, Str& out) { record(chunk, " > "); out.append(chunk); }
  void in_eof() { eof(" < [EOF]\n"); }
  void out_eof() { eof(" > [EOF]\n"); }

 private:
  // One write per line, as the classic program flushes each one.
  void record(std::string_view chunk, const char* direction) {
    while (!chunk.empty()) {
      Str line(pid_);
      line.append(direction);
      std::size_t nl = chunk.find('\n');
      if (nl == std::string_view::npos) {
        line.append(chunk);
        line.append("+\n");
        write_all(2, line);
        return;
      }
      line.append(chunk.substr(0, nl));
      line.append(" \n");
      write_all(2, line);
      chunk.remove_prefix(nl + 1);
    }
  }
  void eof(const char* what) {
    Str line(pid_);
    line.append(what);
    write_all(2, line);
  }

  char pidbuf_[kNumDigits];
  std::string_view pid_;
};

}  // namespace

static int recordio_main(int argc, char** argv) {
  if (argc < 2) die(kExitPerm, "recordio: usage: ", kUsage);
  Recorder recorder;
  interpose(argv + 1, "recordio: fatal: ", recorder);
}

extern const AppletInfo applet_recordio = {"run a program, recording its input and output on stderr",
                                           kUsage, recordio_main};
