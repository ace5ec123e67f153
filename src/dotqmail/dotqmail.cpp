#include "dotqmail/dotqmail.hpp"

#include "qmail/quote.hpp"

namespace qbox::dotqmail {

static Line classify(std::string_view s) {
  if (s.empty()) return {Kind::kBlank, s};
  switch (s[0]) {
    case '#': return {Kind::kComment, s};
    case '.':
    case '/': return {s.back() == '/' ? Kind::kMaildir : Kind::kMbox, s};
    case '|': return {Kind::kProgram, s.substr(1)};
    case '+': return {Kind::kPlus, s.substr(1)};
    case '&': return {Kind::kForward, s.substr(1)};
    default: return {Kind::kForward, s};
  }
}

Line parse_line(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  Line l = classify(s);
  // qmail-local uses the text as a C string: it ends at a NUL.
  std::size_t nul = l.text.find('\0');
  if (nul != std::string_view::npos) l.text = l.text.substr(0, nul);
  return l;
}

void split_lines(std::string_view text, std::vector<std::string_view>& out) {
  out.clear();
  while (!text.empty()) out.push_back(take_line(text));
}

void safe_ext(Str& out, std::string_view ext) {
  out.clear();
  for (char c : ext) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    else if (c == '.') c = ':';
    out.push(c);
  }
}

void search_order(std::string_view dash, std::string_view safeext, std::vector<Candidate>& out) {
  static constexpr std::string_view kDefault = "default";
  out.clear();
  Candidate exact;
  exact.name = ".qmail";
  exact.name.append(dash);
  exact.name.append(safeext);
  if (safeext.ends_with(kDefault)) exact.default_at = safeext.size() - kDefault.size();
  out.push_back(static_cast<Candidate&&>(exact));
  for (std::size_t i = safeext.size() + 1; i-- > 0;) {
    if (i && safeext[i - 1] != '-') continue;
    Candidate c;
    c.name = ".qmail";
    c.name.append(dash);
    c.name.append(safeext.substr(0, i));
    c.name.append(kDefault);
    c.default_at = i;
    out.push_back(static_cast<Candidate&&>(c));
  }
}

bool is_bounce_sender(std::string_view sender) { return sender.empty() || sender == "#@[]"; }

void new_sender(Str& out, std::string_view sender, std::string_view local, std::string_view host,
                bool owner_exists, bool owner_default_exists) {
  out.clear();
  if (is_bounce_sender(sender) || !owner_exists) {
    out.append(sender);
    return;
  }
  out.append(local);
  if (owner_default_exists) {
    out.append("-owner-@");
    out.append(host);
    out.append("-@[]");
  } else {
    out.append("-owner@");
    out.append(host);
  }
}

static void lf_to_underscore(Str& s, std::size_t from) {
  for (std::size_t i = from; i < s.size(); ++i)
    if (s[i] == '\n') s[i] = '_';
}

void dt_line(Str& out, std::string_view local, std::string_view host) {
  out = "Delivered-To: ";
  out.append(local);
  out.push('@');
  out.append(host);
  lf_to_underscore(out, 0);
  out.push('\n');
}

void rp_line(Str& out, std::string_view sender) {
  out = "Return-Path: <";
  qmail::quote2(out, sender);
  lf_to_underscore(out, 0);
  out.append(">\n");
}

std::string_view host_part(std::string_view host, int n) {
  for (int i = 1; i < n; ++i) {
    std::size_t dot = host.rfind('.');
    if (dot != std::string_view::npos) host = host.substr(0, dot);
  }
  return host;
}

std::string_view ext_part(std::string_view ext, int n) {
  for (int i = 1; i < n; ++i) {
    std::size_t dash = ext.find('-');
    ext = dash == std::string_view::npos ? ext.substr(ext.size()) : ext.substr(dash + 1);
  }
  return ext;
}

ProgramResult program_result(int code) {
  switch (code) {
    case 0: return ProgramResult::kOk;
    case 99: return ProgramResult::kStop;
    // 100, and the sysexits.h codes for permanent trouble (usage, data,
    // software, protocol, permission, configuration), and QLX_USAGE.
    case 100: case 64: case 65: case 70: case 76: case 77: case 78: case 112:
      return ProgramResult::kPerm;
    default: return ProgramResult::kTemp;
  }
}

}  // namespace qbox::dotqmail
