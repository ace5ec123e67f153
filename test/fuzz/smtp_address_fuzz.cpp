// libFuzzer target for qmail-smtpd's envelope address parsing (qmail's
// addrparse), the SIZE parameter and the badmailfrom-style lookup.
//   ninja build/fuzz/smtp_address && build/fuzz/smtp_address -max_total_time=600
// The address never exceeds its limit, never holds a NUL, and parsing it
// again in brackets (with quotes and escapes as needed) gives it back; the
// parameters are a piece of the argument.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/str.hpp"
#include "qmail/constmap.hpp"
#include "qmail/control.hpp"
#include "smtp/command.hpp"
#include "smtp/policy.hpp"

using namespace qbox;
using namespace qbox::smtp;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view arg(reinterpret_cast<const char*>(data), size);
  Str addr;
  ParsedAddress p = parse_address(arg, addr);
  check(addr.size() <= kMaxAddress);
  check(addr.view().find('\0') == std::string_view::npos);
  if (p.ok) {
    check(p.params.empty() || (p.params.data() >= arg.data() && p.params.data() + p.params.size() <= arg.data() + arg.size()));
    // Round trip: every byte escaped inside brackets reads back the same.
    Str again("TO:<");
    for (char c : addr.view()) {
      again.push('\\');
      again.push(c);
    }
    again.push('>');
    Str back;
    ParsedAddress q = parse_address(again.view(), back);
    check(q.ok && back == addr);
    (void)size_param(p.params);
    (void)address_domain(addr.view());
    // The address as a one-line list matches itself.
    if (!addr.empty() && addr.view().find('\n') == std::string_view::npos && addr[0] != '#' &&
        addr.back() != ' ' && addr.back() != '\t' && addr.back() != '\r') {
      Str lines;
      qmail::control_lines(addr.view(), lines);
      qmail::ConstMap map;
      map.init(lines.view(), false);
      check(address_listed(map, addr.view()));
    }
  } else {
    check(addr.size() == kMaxAddress);
  }
  return 0;
}
