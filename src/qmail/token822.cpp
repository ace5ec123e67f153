#include "qmail/token822.hpp"

#include <algorithm>
#include <cstring>

namespace qbox::qmail {

namespace {

bool atom_char(char c) {
  switch (c) {
    case ' ': case '\t': case '\r': case '\n':
    case '(': case '[': case '"':
    case '<': case '>': case ';': case ':':
    case '@': case ',': case '.':
      return false;
  }
  return true;
}

bool is_word(Tok t) {
  return t == Tok::kAtom || t == Tok::kLiteral || t == Tok::kQuote || t == Tok::kComment;
}

bool need_space(Tok before, Tok next) {
  if (before == Tok::kNone) return false;
  if (before == Tok::kColon || before == Tok::kComma) return true;
  if (next == Tok::kLeft) return true;
  return is_word(before) && is_word(next);
}

// The character of a special token (, @ . < > ; :), else 0.
char special(Tok t) {
  switch (t) {
    case Tok::kComma: return ',';
    case Tok::kAt: return '@';
    case Tok::kDot: return '.';
    case Tok::kLeft: return '<';
    case Tok::kRight: return '>';
    case Tok::kSemi: return ';';
    case Tok::kColon: return ':';
    default: return 0;
  }
}

// Where a token's text went in buf, until buf stops growing.
struct Pending {
  Tok type;
  std::size_t pos, len;
};

}  // namespace

bool token822_parse(std::string_view s, Tokens& out, Str& buf) {
  out.clear();
  buf.clear();
  std::vector<Pending> toks;
  std::size_t n = s.size();
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[i];
    switch (c) {
      case '.': toks.push_back({Tok::kDot, 0, 0}); continue;
      case ',': toks.push_back({Tok::kComma, 0, 0}); continue;
      case '@': toks.push_back({Tok::kAt, 0, 0}); continue;
      case '<': toks.push_back({Tok::kLeft, 0, 0}); continue;
      case '>': toks.push_back({Tok::kRight, 0, 0}); continue;
      case ':': toks.push_back({Tok::kColon, 0, 0}); continue;
      case ';': toks.push_back({Tok::kSemi, 0, 0}); continue;
      case ' ': case '\t': case '\r': case '\n': continue;
      case ')': case ']': return false;
      case '(': case '"': case '[': {
        // Comments nest; quotes and literals end at their first closer.
        Tok type = c == '(' ? Tok::kComment : c == '"' ? Tok::kQuote : Tok::kLiteral;
        char close = c == '(' ? ')' : c == '"' ? '"' : ']';
        Pending p{type, buf.size(), 0};
        int level = 1;
        for (;;) {
          if (++i >= n) return false;
          char d = s[i];
          // Nested parentheses count but, as in qmail, are not kept.
          if (c == '(' && d == '(') {
            ++level;
            continue;
          }
          if (d == close) {
            if (--level == 0) break;
            continue;
          }
          if (d == '\\') {
            if (++i >= n) return false;
            d = s[i];
          }
          buf.push(d);
        }
        p.len = buf.size() - p.pos;
        toks.push_back(p);
        continue;
      }
      default: {
        Pending p{Tok::kAtom, buf.size(), 0};
        bool odd = false;
        do {
          if (s[i] == '\\' && ++i >= n) break;
          unsigned char u = static_cast<unsigned char>(s[i]);
          if (u < 32 || u > 126 || s[i] == ')' || s[i] == ']' || s[i] == '\\') odd = true;
          buf.push(s[i]);
          if (++i >= n) break;
        } while (atom_char(s[i]));
        --i;
        p.len = buf.size() - p.pos;
        if (odd) p.type = Tok::kQuote;
        toks.push_back(p);
      }
    }
  }
  out.reserve(toks.size());
  for (const Pending& p : toks) out.push_back({p.type, std::string_view(buf.data() + p.pos, p.len)});
  return true;
}

void token822_unparse(const Tokens& ta, Str& out, unsigned linelen) {
  out.clear();
  std::size_t line_start = 0;  // qmail's lineb
  std::size_t brk = 0;         // qmail's linee: the last tentative "\n "
  bool have_brk = false;
  // After each comma and at the end: a tentative line break. When the line
  // before it fits, the previous tentative break is taken out again.
  auto tentative_break = [&] {
    std::size_t here = out.size();
    out.append("\n ");
    if (have_brk && (!linelen || here - line_start <= linelen)) {
      char* p = out.data();
      std::memmove(p + brk, p + brk + 2, out.size() - brk - 2);
      out.truncate(out.size() - 2);
      brk = out.size() - 2;
    } else {
      if (have_brk) line_start = brk + 1;
      brk = here;
      have_brk = true;
    }
  };
  Tok last = Tok::kNone;
  for (const Token& t : ta) {
    if (need_space(last, t.type)) out.push(' ');
    last = t.type;
    if (char c = special(t.type)) {
      out.push(c);
      if (t.type == Tok::kComma) tentative_break();
      continue;
    }
    switch (t.type) {
      case Tok::kAtom: case Tok::kQuote: case Tok::kLiteral: case Tok::kComment: {
        static constexpr char kOpen[] = {0, 0, '"', '[', '('};
        static constexpr char kClose[] = {0, 0, '"', ']', ')'};
        unsigned k = static_cast<unsigned>(t.type);
        if (kOpen[k]) out.push(kOpen[k]);
        for (char c : t.text) {
          switch (c) {
            case '"': case '[': case ']': case '(': case ')':
            case '\\': case '\r': case '\n':
              out.push('\\');
          }
          out.push(c);
        }
        if (kClose[k]) out.push(kClose[k]);
        break;
      }
      default: break;
    }
  }
  tentative_break();
  out.truncate(out.size() - 1);  // the break's space; its newline ends the field
}

void token822_unquote(const Tokens& ta, Str& out) {
  out.clear();
  for (const Token& t : ta) {
    if (char c = special(t.type)) {
      out.push(c);
      continue;
    }
    switch (t.type) {
      case Tok::kLiteral:
        out.push('[');
        out.append(t.text);
        out.push(']');
        break;
      case Tok::kAtom: case Tok::kQuote: out.append(t.text); break;
      default: break;  // comments
    }
  }
}

void token822_reverse(Tokens& t) { std::reverse(t.begin(), t.end()); }

int token822_addrlist(const Tokens& in, Tokens& out, const AddrRewrite& rewrite) {
  out.clear();
  Tokens addr;
  bool ingroup = false;
  bool wordok = true;
  const std::ptrdiff_t beginning = 2;
  std::ptrdiff_t t = static_cast<std::ptrdiff_t>(in.size()) - 1;
  auto type = [&] { return in[static_cast<std::size_t>(t)].type; };
  auto out_left = [&] { out.push_back(in[static_cast<std::size_t>(t--)]); };
  auto addr_left = [&] { addr.push_back(in[static_cast<std::size_t>(t--)]); };
  // The collected address (reversed), rewritten and moved to out.
  auto got = [&] {
    if (!rewrite(addr)) return false;
    out.insert(out.end(), addr.begin(), addr.end());
    addr.clear();
    return true;
  };
  auto flush = [&] { return addr.empty() || got(); };
  auto flush_comma = [&] {
    if (addr.empty()) return true;
    if (!got()) return false;
    out.push_back({Tok::kComma, {}});
    return true;
  };

  while (t >= beginning) {
    switch (type()) {
      case Tok::kSemi:
        if (!flush_comma()) return 0;
        if (ingroup) return 0;
        ingroup = true;
        wordok = true;
        break;
      case Tok::kColon:
        if (!flush()) return 0;
        if (!ingroup) return 0;
        ingroup = false;
        while (t >= beginning && type() != Tok::kComma) out_left();
        if (t >= beginning) out_left();
        wordok = true;
        continue;
      case Tok::kRight:
        if (!flush_comma()) return 0;
        out_left();
        while (t >= beginning && type() != Tok::kLeft) addr_left();
        if (!got()) return 0;  // even when empty: <>
        if (t < beginning) return 0;
        out_left();
        while (t >= beginning && (type() == Tok::kComment || type() == Tok::kAtom ||
                                  type() == Tok::kQuote || type() == Tok::kAt ||
                                  type() == Tok::kDot))
          out_left();
        wordok = false;
        continue;
      case Tok::kAtom: case Tok::kQuote: case Tok::kLiteral:
        if (!wordok && !flush_comma()) return 0;
        wordok = false;
        addr_left();
        continue;
      case Tok::kComment:
        break;  // lexically a space: wordok stays
      case Tok::kComma:
        if (!flush()) return 0;
        wordok = true;
        break;
      default:
        wordok = true;
        addr_left();
        continue;
    }
    out_left();
  }
  if (!flush()) return 0;
  // The field name and colon, then everything in reading order.
  for (std::ptrdiff_t k = std::min<std::ptrdiff_t>(beginning, static_cast<std::ptrdiff_t>(in.size()));
       k > 0;)
    out.push_back(in[static_cast<std::size_t>(--k)]);
  token822_reverse(out);
  return 1;
}

}  // namespace qbox::qmail
