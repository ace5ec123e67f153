// libFuzzer target for qmail-smtpd's input side: the command line splitter
// and the DATA end-of-data machine.
//   ninja build/fuzz/smtp_command && build/fuzz/smtp_command -max_total_time=600
// Each line of the input is parsed as a command (verb and argument must be
// pieces of the line); the whole input is then read as DATA, at once and
// in small pieces, which must agree; the data may only end right after
// CR LF "." CR LF (or "." CR LF at its very start), never at a bare LF, and
// the decoded message is never longer than what was read.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/str.hpp"
#include "smtp/command.hpp"
#include "smtp/data.hpp"

using namespace qbox;
using namespace qbox::smtp;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  std::string_view rest = in;
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    Command c = parse_command(line);
    check(c.name.data() == line.data() && inside(c.name, line) && inside(c.arg, line));
    check(c.name.find(' ') == std::string_view::npos);
    check(c.arg.empty() || c.arg.front() != ' ');
    if (c.verb != Verb::kUnknown) check(c.name.size() == 4 || c.name.size() == 8);
  }

  bool strip = size > 0 && (data[0] & 1);
  std::uint64_t databytes = size > 1 ? data[1] : 0;
  DataReader whole(databytes, strip);
  Str out;
  std::size_t used = 0;
  DataReader::Status st = whole.feed(in, used, out);
  check(used <= in.size());
  check(whole.bytes() <= used);
  check(out.size() <= whole.bytes());
  if (st == DataReader::Status::kMore) check(used == in.size());
  if (st == DataReader::Status::kEnd) {
    std::string_view done = in.substr(0, used);
    check(done == ".\r\n" || (done.size() >= 5 && done.substr(done.size() - 5) == "\r\n.\r\n"));
    // Nothing before it was an end already.
    std::size_t first = done.find("\r\n.\r\n");
    check(done.substr(0, 3) == ".\r\n" || first + 5 == done.size());
  }
  if (st == DataReader::Status::kBareLf) {
    check(used < in.size() && in[used] == '\n' && (used == 0 || in[used - 1] != '\r'));
  }
  // The same bytes in pieces of 1..7 bytes.
  DataReader pieces(databytes, strip);
  Str out2;
  std::size_t total = 0, step = size > 2 ? (data[2] % 7) + 1 : 1;
  DataReader::Status st2 = DataReader::Status::kMore;
  for (std::size_t i = 0; i < in.size() && st2 == DataReader::Status::kMore; i += step) {
    std::size_t u = 0;
    st2 = pieces.feed(in.substr(i, step), u, out2);
    total += u;
  }
  check(st2 == st && total == used && out2 == out);
  check(pieces.hops() == whole.hops() && pieces.too_big() == whole.too_big());
  return 0;
}
