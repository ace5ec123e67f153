// qmail-inject: reads a message, completes and rewrites its header as
// qmail-inject(8) does, and queues it (through $QMAILQUEUE or
// QMAILHOME/bin/qmail-queue).
//
//   -a  recipients from the arguments only; -h from the header only
//       (To, Cc, Bcc, Apparently-To, or the Resent- ones); -H both;
//       -A the default: arguments when there are any, else the header
//   -n  print the message (after a Return-Path line) instead of queueing it
//   -N  queue it (the default)
//   -f  the envelope sender
//
// Addresses in sender and recipient fields are rewritten with
// control/defaulthost, defaultdomain and plusdomain ($QMAILDEFAULTHOST,
// $QMAILDEFAULTDOMAIN, $QMAILPLUSDOMAIN); Date, Message-ID (idhost,
// $QMAILIDHOST) and From ($QMAILUSER, $QMAILNAME, $QMAILHOST and their
// older names) are added when missing; Bcc, Resent-Bcc, Return-Path and
// Content-Length are removed; $QMAILINJECT's letters c s f i r m and
// $QMAILMFTFILE (Mail-Followup-To) work as in qmail.
//
// Limits: the header (all fields together) may hold kMaxHeader bytes;
// a longer one is refused ("header too long", exit 100). The body is
// copied as it comes, whatever its size.
#include <cerrno>
#include <csignal>
#include <ctime>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/env.hpp"
#include "base/fd.hpp"
#include "base/getopt.hpp"
#include "base/num.hpp"
#include "base/str.hpp"
#include "io/buffer.hpp"
#include "proc/child.hpp"
#include "qmail/control.hpp"
#include "qmail/header.hpp"
#include "qmail/quote.hpp"
#include "qmail/token822.hpp"
#include "queue/submit.hpp"
#include "time/date822.hpp"

using namespace qbox;
using qmail::Field;
using qmail::Tok;
using qmail::Token;
using qmail::Tokens;

namespace {

constexpr char kFatal[] = "qmail-inject: fatal: ";
constexpr unsigned kLineLen = 80;
constexpr std::size_t kMaxHeader = 16 << 20;

[[noreturn]] void perm() { ::_exit(100); }
[[noreturn]] void temp() { ::_exit(111); }
[[noreturn]] void die_read() { die(kExitTemp, kFatal, "read error"); }

// Prints "unable to parse this line:" and the line, as qmail's doordie.
[[noreturn]] void die_parse(std::string_view line) {
  Str msg(kFatal);
  msg.append("unable to parse this line:\n");
  msg.append(line);
  write_all(2, msg.view());
  perm();
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// A control value made into tokens that outlive everything (".domain", "@host").
struct TokenText {
  Str text, buf;
  Tokens t;
};

class Injector {
 public:
  Injector(Writer& out) : out_(out) {}

  void options_from_env();
  void controls();
  void sender_option(const char* s);
  void recipient(const char* s);
  void read_message(Reader& in);
  [[noreturn]] void finish();

  bool queue = true;
  bool from_header = false;  // flagrh: use the header's recipients

 private:
  // Where the message goes: the queue or standard output.
  void put(std::string_view s) {
    if (queue) qq_.put(s);
    else if (out_.put(s) < 0) die_sys(kExitTemp, kFatal, "unable to write output: ");
  }

  // Rewriting of one address, given reversed (qmail's rw* functions).
  void rw_generic(Tokens& a);
  void prepend_reversed(Tokens& a, const Tokens& what);
  void append_to(Tokens& a, std::vector<Str>& list);
  void set_return(Tokens& a);

  void header_field(Str& h);
  bool rewrite_field(Str& h, const qmail::AddrRewrite& rw);
  void header_done();
  void default_from(Str& out);
  void default_return_path();
  void followup_to();

  Writer& out_;
  queue::Submit qq_;
  std::time_t start_ = ::time(nullptr);

  bool name_comment_ = false, delete_sender_ = false, delete_from_ = false;
  bool delete_messid_ = false, hack_recip_ = false, hack_mess_ = false;
  const char* mailhost_ = nullptr;
  const char* mailuser_ = "anonymous";
  const char* mailrhost_ = nullptr;
  const char* mailruser_ = nullptr;

  Str idhost_;
  TokenText defaultdomain_, defaulthost_, plusdomain_;
  std::vector<Str> mft_;
  bool have_mft_ = false;

  bool sender_set_ = false;
  Str sender_;
  std::vector<Str> reciplist_, hrlist_, tocclist_, hrrlist_;
  bool seen_[static_cast<int>(Field::kCount)] = {};
  bool resent_ = false;
  Str saved_;  // the header fields kept, in order
  std::size_t header_bytes_ = 0;
};

void Injector::options_from_env() {
  if (const char* o = env::get("QMAILINJECT")) {
    for (; *o; ++o) {
      switch (*o) {
        case 'c': name_comment_ = true; break;
        case 's': delete_sender_ = true; break;
        case 'f': delete_from_ = true; break;
        case 'i': delete_messid_ = true; break;
        case 'r': hack_recip_ = true; break;
        case 'm': hack_mess_ = true; break;
      }
    }
  }
  mailhost_ = env::get("QMAILHOST");
  if (!mailhost_) mailhost_ = env::get("MAILHOST");
  mailrhost_ = env::get("QMAILSHOST");
  if (!mailrhost_) mailrhost_ = mailhost_;
  for (const char* name : {"QMAILUSER", "MAILUSER", "USER", "LOGNAME"}) {
    if (const char* u = env::get(name)) {
      mailuser_ = u;
      break;
    }
  }
  mailruser_ = env::get("QMAILSUSER");
  if (!mailruser_) mailruser_ = mailuser_;
}

void Injector::controls() {
  // The Mail-Followup-To list names a file relative to where we started.
  if (const char* f = env::get("QMAILMFTFILE")) {
    Str lines;
    int r = qmail::Control().readfile(lines, f, false);
    if (r < 0) die_read();
    if (r > 0) {
      have_mft_ = true;
      std::string_view v = lines.view();
      while (!v.empty()) {
        std::size_t z = v.find('\0');
        mft_.emplace_back(v.substr(0, z));
        v.remove_prefix(z + 1);
      }
    }
  }
  if (::chdir(qmail_home()) != 0) die(kExitTemp, kFatal, "internal bug");
  qmail::Control c;
  if (c.init() < 0) die_read();
  struct Setting {
    TokenText* into;
    const char* file;
    const char* def;
    const char* env;
    const char* prefix;
  } settings[] = {
      {&defaultdomain_, "control/defaultdomain", "defaultdomain", "QMAILDEFAULTDOMAIN", "."},
      {&defaulthost_, "control/defaulthost", "defaulthost", "QMAILDEFAULTHOST", "@"},
      {&plusdomain_, "control/plusdomain", "plusdomain", "QMAILPLUSDOMAIN", "."},
  };
  for (const Setting& s : settings) {
    Str value;
    if (c.rldef(value, s.file, true, s.def) != 1) die_read();
    if (const char* e = env::get(s.env)) value = std::string_view(e);
    s.into->text = std::string_view(s.prefix);
    s.into->text.append(value.view());
    if (!qmail::token822_parse(s.into->text.view(), s.into->t, s.into->buf))
      die_parse(s.into->text.view());
  }
  if (c.rldef(idhost_, "control/idhost", true, "idhost") != 1) die_read();
  if (const char* e = env::get("QMAILIDHOST")) idhost_ = std::string_view(e);
}

void Injector::prepend_reversed(Tokens& a, const Tokens& what) {
  a.insert(a.begin(), what.rbegin(), what.rend());
}

void Injector::rw_generic(Tokens& a) {
  if (a.empty()) return;  // <>
  if (a.size() >= 2 && a[1].type == Tok::kAt && a[0].type == Tok::kLiteral && a[0].text.empty())
    return;  // <foo@[]>
  // A source route (@a,@b:user@host) goes.
  if (a.back().type == Tok::kAt) {
    while (!a.empty()) {
      Tok t = a.back().type;
      a.pop_back();
      if (t == Tok::kColon) break;
    }
  }
  if (a.empty()) return;
  if (a[0].type == Tok::kDot) a.erase(a.begin());  // user@host.
  if (a.empty()) return;
  if (a[0].type == Tok::kAt) a.erase(a.begin());  // user@
  if (a.empty()) return;
  bool at = false;
  for (const Token& t : a) at = at || t.type == Tok::kAt;
  if (!at) prepend_reversed(a, defaulthost_.t);
  if (a[0].type == Tok::kAtom && !a[0].text.empty() && a[0].text.back() == '+') {
    a[0].text.remove_suffix(1);
    prepend_reversed(a, plusdomain_.t);
  }
  for (const Token& t : a) {
    if (t.type == Tok::kDot) return;
    if (t.type == Tok::kAt) break;
  }
  for (const Token& t : a) {
    if (t.type == Tok::kLiteral) return;
    if (t.type == Tok::kAt) break;
  }
  prepend_reversed(a, defaultdomain_.t);
}

void Injector::append_to(Tokens& a, std::vector<Str>& list) {
  qmail::token822_reverse(a);
  Str s;
  qmail::token822_unquote(a, s);
  list.push_back(static_cast<Str&&>(s));
  qmail::token822_reverse(a);
}

void Injector::set_return(Tokens& a) {
  if (sender_set_) return;
  qmail::token822_reverse(a);
  qmail::token822_unquote(a, sender_);
  if (hack_recip_) sender_.append("-@[]");
  sender_set_ = true;
  qmail::token822_reverse(a);
}

void Injector::sender_option(const char* s) {
  Str quoted, buf;
  qmail::quote2(quoted, s);
  Tokens t;
  if (!qmail::token822_parse(quoted.view(), t, buf)) die_parse(quoted.view());
  qmail::token822_reverse(t);
  rw_generic(t);
  qmail::token822_reverse(t);
  qmail::token822_unquote(t, sender_);
  sender_set_ = true;
}

void Injector::recipient(const char* s) {
  Str quoted, buf;
  qmail::quote2(quoted, s);
  Tokens t;
  if (!qmail::token822_parse(quoted.view(), t, buf))
    die(kExitPerm, kFatal, "unable to parse address: ", s);
  qmail::token822_reverse(t);
  rw_generic(t);
  append_to(t, reciplist_);
}

// Rewrites the addresses of field h in place; false when it does not parse.
bool Injector::rewrite_field(Str& h, const qmail::AddrRewrite& rw) {
  Tokens in, out;
  Str buf;
  if (!qmail::token822_parse(h.view(), in, buf)) return false;
  if (qmail::token822_addrlist(in, out, rw) != 1) return false;
  Str text;
  qmail::token822_unparse(out, text, kLineLen);
  h = static_cast<Str&&>(text);
  return true;
}

void Injector::header_field(Str& h) {
  Field type = qmail::field_known(h.view());
  if (delete_from_ && type == Field::kFrom) return;
  if (delete_messid_ && type == Field::kMessageId) return;
  if (delete_sender_ && type == Field::kReturnPath) return;
  if (type != Field::kUnknown) {
    seen_[static_cast<int>(type)] = true;
  } else if (!qmail::field_valid(h.view())) {
    Str msg(kFatal);
    msg.append("invalid header field: ");
    msg.append(h.view());
    write_all(2, msg.view());
    perm();
  }

  qmail::AddrRewrite rw;
  bool may_fail = true;
  switch (type) {
    case Field::kTo:
    case Field::kCc:
      rw = [this](Tokens& a) {
        rw_generic(a);
        append_to(a, hrlist_);
        append_to(a, tocclist_);
        return true;
      };
      break;
    case Field::kBcc:
    case Field::kApparentlyTo:
      rw = [this](Tokens& a) {
        rw_generic(a);
        append_to(a, hrlist_);
        return true;
      };
      break;
    case Field::kResentTo:
    case Field::kResentCc:
    case Field::kResentBcc:
      rw = [this](Tokens& a) {
        rw_generic(a);
        append_to(a, hrrlist_);
        return true;
      };
      break;
    case Field::kReturnPath:
      may_fail = false;
      rw = [this](Tokens& a) {
        rw_generic(a);
        set_return(a);
        return true;
      };
      break;
    case Field::kSender: case Field::kFrom: case Field::kReplyTo:
    case Field::kReturnReceiptTo: case Field::kErrorsTo:
    case Field::kResentSender: case Field::kResentFrom: case Field::kResentReplyTo:
      may_fail = false;
      rw = [this](Tokens& a) {
        rw_generic(a);
        return true;
      };
      break;
    default:
      break;
  }
  // Recipient fields that do not parse are kept as they are (notqmail);
  // sender fields must parse.
  if (rw && !rewrite_field(h, rw) && !may_fail) die_parse(h.view());

  switch (type) {
    case Field::kBcc: case Field::kResentBcc: case Field::kReturnPath:
    case Field::kContentLength:
      return;
    default:
      break;
  }
  saved_.append(h.view());
}

void Injector::default_from(Str& out) {
  const char* fullname = nullptr;
  for (const char* name : {"QMAILNAME", "MAILNAME", "NAME"})
    if (!fullname) fullname = env::get(name);
  std::string_view user = mailuser_;
  Tokens t;
  t.push_back({Tok::kAtom, "From"});
  t.push_back({Tok::kColon, {}});
  if (fullname && !name_comment_) {
    t.push_back({Tok::kQuote, fullname});
    t.push_back({Tok::kLeft, {}});
  }
  t.push_back({qmail::quote_need(user) ? Tok::kQuote : Tok::kAtom, user});
  if (mailhost_) {
    t.push_back({Tok::kAt, {}});
    t.push_back({Tok::kAtom, mailhost_});
  }
  if (fullname && !name_comment_) t.push_back({Tok::kRight, {}});
  if (fullname && name_comment_) t.push_back({Tok::kComment, fullname});
  qmail::token822_unparse(t, out, kLineLen);
  if (!rewrite_field(out, [this](Tokens& a) {
        rw_generic(a);
        return true;
      }))
    die_parse(out.view());
}

void Injector::default_return_path() {
  Str user(mailruser_);
  if (hack_mess_) {
    user.push('-');
    user.append_num(static_cast<unsigned long long>(start_));
    user.push('.');
    user.append_num(static_cast<unsigned long long>(::getpid()));
  }
  if (hack_recip_) user.push('-');
  Tokens t;
  t.push_back({Tok::kAtom, "Return-Path"});
  t.push_back({Tok::kColon, {}});
  t.push_back({Tok::kQuote, user.view()});
  if (mailrhost_) {
    t.push_back({Tok::kAt, {}});
    t.push_back({Tok::kAtom, mailrhost_});
  }
  Str field;
  qmail::token822_unparse(t, field, kLineLen);
  if (!rewrite_field(field, [this](Tokens& a) {
        rw_generic(a);
        set_return(a);
        return true;
      }))
    die_parse(field.view());
}

void Injector::followup_to() {
  if (!have_mft_ || seen_[static_cast<int>(Field::kMailFollowupTo)]) return;
  bool listed = false;
  for (const Str& a : tocclist_)
    for (const Str& m : mft_)
      listed = listed || a == m;
  if (!listed) return;
  put("Mail-Followup-To: ");
  for (std::size_t i = tocclist_.size(); i--;) {
    Str q;
    qmail::quote2(q, tocclist_[i].view());
    put(q.view());
    if (i) put(",\n  ");
  }
  put("\n");
}

void Injector::header_done() {
  auto seen = [this](Field f) { return seen_[static_cast<int>(f)]; };
  resent_ = seen(Field::kResentSender) || seen(Field::kResentFrom) ||
            seen(Field::kResentReplyTo) || seen(Field::kResentTo) || seen(Field::kResentCc) ||
            seen(Field::kResentBcc) || seen(Field::kResentDate) ||
            seen(Field::kResentMessageId);
  if (!sender_set_) default_return_path();
  if (!queue) {
    Str rp("Return-Path: <");
    qmail::quote2(rp, sender_.view());
    rp.append(">\n");
    put(rp.view());
  }
  if (queue && qq_.open() != 0) die(kExitTemp, kFatal, "unable to run qmail-queue");

  char date[kDate822Len];
  Str date_field("Date: ");
  date_field.append(fmt_date822(date, start_));
  date_field.push('\n');
  Str msgid("Message-ID: <");
  CivilTime c = civil_utc(start_);
  char d[kNumDigits];
  msgid.append(fmt_num(d, static_cast<unsigned long long>(c.year)));
  for (int v : {c.mon + 1, c.mday, c.hour, c.min, c.sec})
    msgid.append(fmt_num0(d, static_cast<unsigned>(v), 2));
  msgid.push('.');
  msgid.append_num(static_cast<unsigned long long>(::getpid()));
  msgid.append(".qmail@");
  msgid.append(idhost_.view());
  msgid.append(">\n");

  const char* pre = resent_ ? "Resent-" : "";
  if (!seen(resent_ ? Field::kResentDate : Field::kDate)) {
    put(pre);
    put(date_field.view());
  }
  if (!seen(resent_ ? Field::kResentMessageId : Field::kMessageId)) {
    put(pre);
    put(msgid.view());
  }
  if (!seen(resent_ ? Field::kResentFrom : Field::kFrom)) {
    Str from;
    default_from(from);
    put(pre);
    put(from.view());
  }
  if (resent_) {
    if (!seen(Field::kResentTo) && !seen(Field::kResentCc))
      put("Resent-Cc: recipient list not shown: ;\n");
  } else {
    if (!seen(Field::kTo) && !seen(Field::kCc)) put("Cc: recipient list not shown: ;\n");
    followup_to();
  }
  put(saved_.view());
  saved_ = Str();
}

// The header, field by field (continuation lines joined), as qmail's
// headerbody; then the body as it comes, ending with a newline.
void Injector::read_message(Reader& in) {
  Str line, next;
  bool have_line = false;
  bool body_started = false;
  char last = '\n';
  auto body = [&](std::string_view s) {
    if (s.empty()) return;
    put(s);
    last = s.back();
  };
  for (;;) {
    next.clear();
    int r = in.getline(next, '\n', kMaxHeader - header_bytes_);
    if (r < 0 && errno != E2BIG) die_read();
    if (r == 0 && next.empty()) {
      if (have_line) header_field(line);
      header_done();
      return;  // no body
    }
    bool too_long = r < 0;
    if (r == 0) next.push('\n');  // a last line without its newline gets one
    header_bytes_ += next.size();
    bool continued = next[0] == ' ' || next[0] == '\t';
    if (have_line && continued) {
      if (too_long) die(kExitPerm, kFatal, "header too long");
      line.append(next.view());
      continue;
    }
    if (have_line) header_field(line);
    have_line = false;
    if (next.view() == "\n") {
      header_done();
      body("\n");
      body_started = true;
      break;
    }
    bool mbox = starts_with(next.view(), "From ");
    if (too_long && (mbox || qmail::field_valid(next.view())))
      die(kExitPerm, kFatal, "header too long");
    if (mbox) {
      line = std::string_view("MBOX-Line: ");
      line.append(next.view());
    } else if (qmail::field_valid(next.view())) {
      line = static_cast<Str&&>(next);
    } else {
      header_done();
      body("\n");
      body(next.view());
      body_started = true;
      break;
    }
    have_line = true;
  }
  // The body: copied in pieces, whatever the length of its lines.
  if (!body_started) return;
  for (;;) {
    long r = in.fill();
    if (r < 0) die_read();
    if (r == 0) break;
    body(in.peek());
    in.skip(in.peek().size());
  }
  if (last != '\n') put("\n");
}

void Injector::finish() {
  if (!queue) {
    if (out_.flush() < 0) die_sys(kExitTemp, kFatal, "unable to write output: ");
    ::_exit(0);
  }
  qq_.from(sender_.view());
  for (const Str& r : reciplist_) qq_.to(r.view());
  if (from_header)
    for (const Str& r : resent_ ? hrrlist_ : hrlist_) qq_.to(r.view());
  std::string_view verdict = qq_.close();
  if (verdict.empty()) ::_exit(0);
  Str msg(kFatal);
  msg.append(verdict.substr(1));
  msg.push('\n');
  write_all(2, msg.view());
  if (verdict[0] == 'D') perm();
  temp();
}

enum class Recips { kDefault, kArgs, kHeader, kBoth };

int qmail_inject_main(int argc, char** argv) {
  sig_ignore(SIGPIPE);
  char outbuf[8192];
  Writer out(1, outbuf);
  Injector inj(out);
  inj.options_from_env();
  inj.controls();

  Recips strategy = Recips::kDefault;
  GetOpt opt(argc, argv, "aAhHnNf:");
  for (int c; (c = opt.next()) != -1;) {
    switch (c) {
      case 'a': strategy = Recips::kArgs; break;
      case 'A': strategy = Recips::kDefault; break;
      case 'h': strategy = Recips::kHeader; break;
      case 'H': strategy = Recips::kBoth; break;
      case 'n': inj.queue = false; break;
      case 'N': inj.queue = true; break;
      case 'f': inj.sender_option(opt.arg()); break;
      default: perm();
    }
  }
  char** rest = opt.rest();
  if (strategy == Recips::kDefault) strategy = *rest ? Recips::kArgs : Recips::kHeader;
  if (strategy != Recips::kHeader)
    for (; *rest; ++rest) inj.recipient(*rest);
  inj.from_header = strategy != Recips::kArgs;

  char inbuf[8192];
  Reader in(0, inbuf);
  inj.read_message(in);
  inj.finish();
}

}  // namespace

extern const AppletInfo applet_qmail_inject = {
    "complete a message's header and queue it (or print it)",
    "qmail-inject [ -nNaAhH ] [ -fsender ] [ arg ... ]", qmail_inject_main};
