#include "smtp/command.hpp"

#include "qmail/constmap.hpp"

namespace qbox::smtp {

namespace {

struct VerbName {
  std::string_view name;
  Verb verb;
};
constexpr VerbName kVerbs[] = {
    {"rcpt", Verb::kRcpt}, {"mail", Verb::kMail}, {"data", Verb::kData},
    {"quit", Verb::kQuit}, {"helo", Verb::kHelo}, {"ehlo", Verb::kEhlo},
    {"rset", Verb::kRset}, {"help", Verb::kHelp}, {"noop", Verb::kNoop},
    {"vrfy", Verb::kVrfy}, {"starttls", Verb::kStarttls}, {"auth", Verb::kAuth},
};

// qmail's strings stop at a NUL; so does a command's text here.
std::string_view upto_nul(std::string_view s) {
  std::size_t z = s.find('\0');
  return z == std::string_view::npos ? s : s.substr(0, z);
}

}  // namespace

Command parse_command(std::string_view line) {
  Command c;
  std::size_t sp = line.find(' ');
  c.name = line.substr(0, sp);
  if (sp != std::string_view::npos) {
    std::string_view arg = line.substr(sp);
    while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
    c.arg = arg;
  }
  std::string_view verb = upto_nul(c.name);
  if (verb.size() == c.name.size()) {
    for (const VerbName& v : kVerbs)
      if (qmail::case_compare(v.name, verb) == 0) c.verb = v.verb;
  }
  return c;
}

ParsedAddress parse_address(std::string_view arg, Str& addr) {
  arg = upto_nul(arg);
  addr.clear();
  char terminator = '>';
  std::size_t lt = arg.find('<');
  if (lt != std::string_view::npos) {
    arg.remove_prefix(lt + 1);
  } else {
    // No angle brackets: the word after the colon.
    terminator = ' ';
    std::size_t colon = arg.find(':');
    arg.remove_prefix(colon == std::string_view::npos ? arg.size() : colon + 1);
    while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
  }
  // A source route ("@a,@b:user@c") is dropped up to its colon.
  if (!arg.empty() && arg.front() == '@') {
    std::size_t colon = arg.find(':');
    arg.remove_prefix(colon == std::string_view::npos ? arg.size() : colon + 1);
  }
  ParsedAddress r;
  bool escaped = false, quoted = false;
  std::size_t i = 0;
  for (; i < arg.size(); ++i) {
    char ch = arg[i];
    if (escaped) {
      escaped = false;
    } else if (!quoted && ch == terminator) {
      r.params = arg.substr(i + 1);
      break;
    } else if (ch == '\\') {
      escaped = true;
      continue;
    } else if (ch == '"') {
      quoted = !quoted;
      continue;
    }
    // The limit is checked as the address grows, so a long argument never
    // costs more than the limit.
    if (addr.size() >= kMaxAddress) return r;
    addr.push(ch);
  }
  while (!r.params.empty() && r.params.front() == ' ') r.params.remove_prefix(1);
  r.ok = true;
  return r;
}

std::optional<std::uint64_t> size_param(std::string_view params) {
  while (!params.empty()) {
    std::size_t sp = params.find(' ');
    std::string_view p = params.substr(0, sp);
    params.remove_prefix(sp == std::string_view::npos ? params.size() : sp + 1);
    if (p.size() < 5 || qmail::case_compare(p.substr(0, 5), "SIZE=") != 0) continue;
    std::uint64_t v = 0;
    for (char c : p.substr(5)) {
      if (c < '0' || c > '9') break;
      unsigned d = static_cast<unsigned>(c - '0');
      if (v > (UINT64_MAX - d) / 10) return UINT64_MAX;
      v = v * 10 + d;
    }
    return v;
  }
  return std::nullopt;
}

std::string_view address_domain(std::string_view addr) {
  std::size_t at = addr.rfind('@');
  return at == std::string_view::npos ? std::string_view() : addr.substr(at + 1);
}

}  // namespace qbox::smtp
