#include "smtp/auth.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base64.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "base/num.hpp"
#include "cdb/cdb.hpp"
#include "dns/random.hpp"
#include "proc/child.hpp"
#include "proc/exec.hpp"
#include "proc/pidfd.hpp"
#include "smtp/authdb.hpp"
#include "time/tai.hpp"

namespace qbox::smtp {

int g_checkpassword_timeout_ms = 60000;

namespace {

// The replies of the classic qmail SMTP AUTH patches.
constexpr std::string_view kReplyOk = "235 ok, go ahead (#2.0.0)";
constexpr std::string_view kReplyFailed = "535 authentication failed (#5.7.1)";
constexpr std::string_view kReplyMalformed = "501 malformed auth input (#5.5.4)";
constexpr std::string_view kReplyCancelled = "501 auth exchange cancelled (#5.0.0)";
constexpr std::string_view kReplyUnimplemented = "504 auth type unimplemented (#5.5.1)";
constexpr std::string_view kReplyTemporary = "454 temporary authentication failure (#4.3.0)";
constexpr std::string_view kReplyNotAvailable = "503 auth not available (#5.3.3)";

// RFC 4954's limit for a line of the exchange.
constexpr std::size_t kMaxLine = 12288;

constexpr std::string_view kMechanisms = "LOGIN PLAIN CRAM-MD5";

enum class Verdict { kAccepted, kRefused, kTemporary };

bool equal_nocase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// `why` goes to a log line: keep it on one line and printable.
void add_why(Str& why, std::string_view s) {
  for (char c : s) why.push(c >= 0x20 && c < 0x7f ? c : '?');
}

class Exchange {
 public:
  Exchange(LineIo& io, const AuthConfig& cfg, Str& why) : io_(io), cfg_(cfg), why_(why) {}

  // A reply line; false when the connection is gone.
  bool reply(std::string_view text) {
    return io_.put(text) == 0 && io_.put("\r\n") == 0 && io_.flush() == 0;
  }
  // Ends the exchange with a refusal: 0, or -1 when the reply cannot be sent.
  int refuse(std::string_view text, std::string_view reason) {
    add_why(why_, reason);
    return reply(text) ? 0 : -1;
  }

  // Sends "334 <challenge>" and reads the answer, decoded into `out`.
  // 1 read, 0 refused (reply written), -1 connection lost.
  int ask(std::string_view challenge, Str& out) {
    Str line("334 ");
    line.append(challenge);
    if (!reply(line.view())) return -1;
    line.clear();
    int r = io_.getline(line, kMaxLine);
    if (r == 0 || r == -1) return -1;
    if (r == -2) return refuse(kReplyMalformed, "response line too long");
    if (line.view() == "*") return refuse(kReplyCancelled, "cancelled by the client");
    if (line.empty()) return refuse(kReplyMalformed, "empty response");
    out.clear();
    if (!base64_decode(line.view(), out)) return refuse(kReplyMalformed, "bad base64");
    return 1;
  }

  int login(std::string_view initial, Str& user);
  int plain(std::string_view initial, Str& user);
  int cram(Str& user);

 private:
  // Decides on user and secret (the password, or for CRAM-MD5 the digest
  // with its challenge); writes 235 / 535 / 454.
  int decide(std::string_view mech, std::string_view user, std::string_view secret,
             std::string_view challenge, Str& user_out);
  Verdict checkpassword(std::string_view user, std::string_view secret, std::string_view challenge);
  Verdict lookup_cdb(std::string_view user, std::string_view secret, std::string_view challenge);

  LineIo& io_;
  const AuthConfig& cfg_;
  Str& why_;
};

// An initial response: "=" stands for an empty one (RFC 4954).
bool decode_initial(std::string_view initial, Str& out) {
  out.clear();
  if (initial == "=") return true;
  return base64_decode(initial, out);
}

int Exchange::login(std::string_view initial, Str& user_out) {
  Str user, pass;
  if (!initial.empty()) {
    if (!decode_initial(initial, user)) return refuse(kReplyMalformed, "LOGIN: bad base64");
  } else {
    int r = ask("VXNlcm5hbWU6", user);  // "Username:"
    if (r <= 0) return r;
  }
  int r = ask("UGFzc3dvcmQ6", pass);  // "Password:"
  if (r <= 0) return r;
  return decide("LOGIN", user.view(), pass.view(), {}, user_out);
}

int Exchange::plain(std::string_view initial, Str& user_out) {
  Str resp;
  if (!initial.empty()) {
    if (!decode_initial(initial, resp)) return refuse(kReplyMalformed, "PLAIN: bad base64");
  } else {
    int r = ask("", resp);
    if (r <= 0) return r;
  }
  // authzid NUL authcid NUL passwd; the authorization id is not used.
  std::string_view v = resp.view();
  std::size_t a = v.find('\0');
  if (a == std::string_view::npos) return refuse(kReplyMalformed, "PLAIN: no NUL");
  std::size_t b = v.find('\0', a + 1);
  if (b == std::string_view::npos) return refuse(kReplyMalformed, "PLAIN: one NUL");
  return decide("PLAIN", v.substr(a + 1, b - a - 1), v.substr(b + 1), {}, user_out);
}

int Exchange::cram(Str& user_out) {
  // <random.timestamp@hostname>, as the patches' <pid.timestamp@host>.
  char num[kNumDigits];
  unsigned long long nonce = 0;
  if (!dns::random_bytes(&nonce, sizeof nonce)) nonce = static_cast<unsigned long long>(::getpid());
  Str challenge("<");
  challenge.append(fmt_num(num, nonce));
  challenge.push('.');
  challenge.append(fmt_num(num, static_cast<unsigned long long>(::time(nullptr))));
  challenge.push('@');
  challenge.append(cfg_.hostname.empty() ? std::string_view("unknown") : cfg_.hostname);
  challenge.push('>');
  Str encoded, resp;
  base64_encode(challenge.view(), encoded);
  int r = ask(encoded.view(), resp);
  if (r <= 0) return r;
  // "user digest": the user is everything before the last space.
  std::string_view v = resp.view();
  std::size_t sp = v.rfind(' ');
  if (sp == std::string_view::npos) return refuse(kReplyMalformed, "CRAM-MD5: no space");
  std::string_view digest = v.substr(sp + 1);
  return decide("CRAM-MD5", v.substr(0, sp), digest, challenge.view(), user_out);
}

int Exchange::decide(std::string_view mech, std::string_view user, std::string_view secret,
                     std::string_view challenge, Str& user_out) {
  if (user.empty() || secret.empty()) return refuse(kReplyMalformed, "empty user or password");
  // NULs would break the checkpassword protocol and crypt() alike.
  if (user.find('\0') != std::string_view::npos || secret.find('\0') != std::string_view::npos)
    return refuse(kReplyMalformed, "NUL in user or password");
  Verdict v = cfg_.checkpassword && cfg_.checkpassword[0] ? checkpassword(user, secret, challenge)
                                                          : lookup_cdb(user, secret, challenge);
  Str who(mech);
  who.append(" user ");
  who.append(user);
  who.append(": ");
  switch (v) {
    case Verdict::kAccepted:
      user_out = user;
      return reply(kReplyOk) ? 1 : -1;
    case Verdict::kRefused:
      who.append(why_.view());
      why_.clear();
      return refuse(kReplyFailed, who.view());
    case Verdict::kTemporary:
      break;
  }
  who.append(why_.view());
  why_.clear();
  return refuse(kReplyTemporary, who.view());
}

// Waits for pid at most timeout_ms; false when it is still running then.
bool wait_bounded(pid_t pid, int timeout_ms, int* status) {
  Fd pfd(pidfd_open(pid));
  if (pfd) {
    long long start = monotonic_ms();
    for (;;) {
      long long spent = monotonic_ms() - start;
      if (spent >= timeout_ms) break;
      pollfd p{pfd.get(), POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(timeout_ms - spent));
      if (r > 0) return wait_pid(pid, status) == pid;
      if (r < 0 && errno != EINTR) break;
    }
  } else {
    // No pidfd (before Linux 5.3): look every 10 ms.
    for (int waited = 0; waited < timeout_ms; waited += 10) {
      pid_t r = ::waitpid(pid, status, WNOHANG);
      if (r == pid) return true;
      if (r < 0 && errno != EINTR) return false;
      ::usleep(10000);
    }
  }
  return ::waitpid(pid, status, WNOHANG) == pid;
}

// djb's checkpassword interface: "user\0password\0timestamp\0" on
// descriptor 3, the empty timestamp for LOGIN and PLAIN; for CRAM-MD5 the
// patches (and vchkpw) send "user\0digest\0challenge\0". Exit 0 accepts,
// 111 is a temporary failure, anything else refuses.
Verdict Exchange::checkpassword(std::string_view user, std::string_view secret,
                                std::string_view challenge) {
  char* const* argv = cfg_.checkpassword;
  Str data(user);
  data.push('\0');
  data.append(secret);
  data.push('\0');
  data.append(challenge);
  data.push('\0');

  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    add_why(why_, "unable to create pipe");
    return Verdict::kTemporary;
  }
  Fd wr(p[1]);
  // The read end must not be 3 itself: dup2 onto the same descriptor
  // would leave it close-on-exec.
  Fd rd(::fcntl(p[0], F_DUPFD_CLOEXEC, 4));
  ::close(p[0]);
  if (!rd) {
    add_why(why_, "unable to create pipe");
    return Verdict::kTemporary;
  }
  // The child gets descriptor 3, nothing to read on 0, and its output on
  // the log (2): it must not talk to the SMTP client.
  posix_spawn_file_actions_t fa;
  ::posix_spawn_file_actions_init(&fa);
  ::posix_spawn_file_actions_adddup2(&fa, rd.get(), 3);
  ::posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&fa, 2, 1);
  pid_t pid;
  int e = pathspawn(&pid, argv, &fa);
  ::posix_spawn_file_actions_destroy(&fa);
  rd.reset();
  if (e != 0) {
    add_why(why_, "unable to run ");
    add_why(why_, argv[0]);
    add_why(why_, ": ");
    add_why(why_, error_str(e));
    return Verdict::kTemporary;
  }
  // A checkpassword that exits without reading must not kill us.
  struct sigaction ign {}, old {};
  ign.sa_handler = SIG_IGN;
  ::sigemptyset(&ign.sa_mask);
  ::sigaction(SIGPIPE, &ign, &old);
  (void)write_all(wr.get(), data.view());  // the exit code tells what happened
  ::sigaction(SIGPIPE, &old, nullptr);
  wr.reset();
  std::memset(data.data(), 0, data.size());

  int status = 0;
  if (!wait_bounded(pid, g_checkpassword_timeout_ms, &status)) {
    ::kill(pid, SIGKILL);
    (void)wait_pid(pid, &status);
    add_why(why_, "checkpassword timed out");
    return Verdict::kTemporary;
  }
  if (wait_crashed(status)) {
    add_why(why_, "checkpassword crashed");
    return Verdict::kTemporary;
  }
  int code = wait_exitcode(status);
  if (code == 0) return Verdict::kAccepted;
  char num[kNumDigits];
  add_why(why_, "checkpassword exit ");
  add_why(why_, fmt_num(num, static_cast<unsigned long long>(code)));
  return code == 111 ? Verdict::kTemporary : Verdict::kRefused;
}

Verdict Exchange::lookup_cdb(std::string_view user, std::string_view secret,
                             std::string_view challenge) {
  CdbReader db;
  if (!cfg_.cdb || db.open(cfg_.cdb) != 0) {
    add_why(why_, "unable to read ");
    add_why(why_, cfg_.cdb ? cfg_.cdb : "auth.cdb");
    add_why(why_, ": ");
    add_why(why_, error_str(errno));
    return Verdict::kTemporary;
  }
  int found = db.find(user);
  if (found < 0) {
    add_why(why_, "unable to read ");
    add_why(why_, cfg_.cdb);
    return Verdict::kTemporary;
  }
  AuthRecord rec;
  if (found == 0) {
    // As long as a real check, so that timing does not tell who exists.
    if (challenge.empty())
      (void)crypt_check(secret, "$6$qboxnosuchuser$q8j2ni59Eo2eXFJU69rqFD/TNAAOjYIbEYSvlKmusUGST1kHf"
                                "j9ltSNfmO.OHKl2m03tmjKllcJOH1J7KWvkl0");
    add_why(why_, "no such user");
    return Verdict::kRefused;
  }
  if (!parse_auth_record(db.value(), rec)) {
    add_why(why_, "malformed record in ");
    add_why(why_, cfg_.cdb);
    return Verdict::kTemporary;
  }
  if (!challenge.empty()) {
    if (rec.cram.empty()) {
      add_why(why_, "no CRAM-MD5 secret");
      return Verdict::kRefused;
    }
    char expect[32];
    if (!cram_digest(rec.cram, challenge, expect)) return Verdict::kTemporary;
    Str given(secret);
    for (std::size_t i = 0; i < given.size(); ++i)
      if (given[i] >= 'A' && given[i] <= 'F') given[i] = static_cast<char>(given[i] - 'A' + 'a');
    if (equal_ct(given.view(), std::string_view(expect, sizeof expect))) return Verdict::kAccepted;
    add_why(why_, "wrong digest");
    return Verdict::kRefused;
  }
  int r = crypt_check(secret, rec.hash);
  if (r > 0) return Verdict::kAccepted;
  if (r < 0) {
    add_why(why_, "crypt failed on the stored hash");
    return Verdict::kTemporary;
  }
  add_why(why_, "wrong password");
  return Verdict::kRefused;
}

}  // namespace

std::string_view auth_mechanisms(const AuthConfig& cfg) {
  if ((cfg.checkpassword && cfg.checkpassword[0]) || cfg.cdb) return kMechanisms;
  return {};
}

int auth_command(std::string_view args, LineIo& io, const AuthConfig& cfg, Str& user, Str& why) {
  user.clear();
  why.clear();
  Exchange ex(io, cfg, why);
  if (auth_mechanisms(cfg).empty()) return ex.refuse(kReplyNotAvailable, "no AUTH backend");
  std::size_t sp = args.find(' ');
  std::string_view mech = args.substr(0, sp);
  std::string_view initial = sp == std::string_view::npos ? std::string_view() : args.substr(sp);
  while (!initial.empty() && initial.front() == ' ') initial.remove_prefix(1);
  while (!initial.empty() && initial.back() == ' ') initial.remove_suffix(1);
  if (equal_nocase(mech, "login")) return ex.login(initial, user);
  if (equal_nocase(mech, "plain")) return ex.plain(initial, user);
  // CRAM-MD5 has no initial response; as in the patches, one is ignored.
  if (equal_nocase(mech, "cram-md5")) return ex.cram(user);
  Str reason("unknown mechanism ");
  reason.append(mech.substr(0, 40));
  return ex.refuse(kReplyUnimplemented, reason.view());
}

}  // namespace qbox::smtp
