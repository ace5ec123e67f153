// sendmail: qmail's sendmail interface. It runs QMAILHOME/bin/qmail-inject
// with -a (recipients from the arguments) or, with -t, -H (and from the
// header), and -f for the sender; -bp (or the name mailq) runs
// bin/qmail-qread and -bs bin/qmail-smtpd (with the environment of a local
// SMTP client when $PROTO is not set). The other options of sendmail are
// accepted and ignored, as qmail does: -i, -oi, -odb, -oem, -v, -m, -x,
// -e, -p, -B, -E, -J.
#include <cstring>
#include <unistd.h>
#include <vector>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/env.hpp"
#include "base/getopt.hpp"
#include "base/str.hpp"
#include "proc/exec.hpp"

using namespace qbox;

namespace {

constexpr char kUsage[] = "sendmail [ -t ] [ -fsender ] [ -Fname ] [ -bp ] [ -bs ] [ arg ... ]";
constexpr char kFatal[] = "sendmail: fatal: ";

[[noreturn]] void usage() { die(kExitPerm, "sendmail: usage: ", kUsage); }

[[noreturn]] void run(const char* prog, char** argv, const char* what) {
  pathexec_env(prog, argv, env::build());
  die(kExitTemp, kFatal, "unable to run ", what);
}

[[noreturn]] void mailq() {
  char* argv[] = {const_cast<char*>("bin/qmail-qread"), nullptr};
  run(argv[0], argv, "qmail-qread");
}

[[noreturn]] void smtpd() {
  if (!env::get("PROTO")) {
    env::set("RELAYCLIENT", "");
    env::set("DATABYTES", "0");
    env::set("PROTO", "TCP");
    env::set("TCPLOCALIP", "127.0.0.1");
    env::set("TCPLOCALHOST", "localhost");
    env::set("TCPREMOTEIP", "127.0.0.1");
    env::set("TCPREMOTEHOST", "localhost");
    env::set("TCPREMOTEINFO", "sendmail-bs");
  }
  char* argv[] = {const_cast<char*>("bin/qmail-smtpd"), nullptr};
  run(argv[0], argv, "qmail-smtpd");
}

// The sender's parts become qmail-inject's idea of the user and host.
void do_sender(const char* s, Str& user) {
  for (const char* name : {"QMAILNAME", "MAILNAME", "NAME", "QMAILHOST", "MAILHOST"})
    env::unset(name);
  const char* at = std::strrchr(s, '@');
  if (!at) {
    env::set("QMAILUSER", s);
    return;
  }
  env::set("QMAILHOST", at + 1);
  user = std::string_view(s, static_cast<std::size_t>(at - s));
  env::set("QMAILUSER", user.c_str());
}

int sendmail_main(int argc, char** argv) {
  if (::chdir(qmail_home()) != 0) die(kExitTemp, kFatal, "unable to switch to qmail home directory");
  bool flagh = false;
  const char* sender = nullptr;
  GetOpt opt(argc, argv, "vimte:f:p:o:B:F:EJxb:");
  for (int c; (c = opt.next()) != -1;) {
    switch (c) {
      case 't': flagh = true; break;
      case 'f': sender = opt.arg(); break;
      case 'F': env::set("MAILNAME", opt.arg()); break;
      case 'B': case 'p': case 'v': case 'i': case 'x': case 'm': case 'e': case 'o': break;
      case 'E': case 'J': opt.skip_cluster(); break;  // an optional argument, ignored
      case 'b':
        switch (opt.arg()[0]) {
          case 'm': break;
          case 'p': mailq();
          case 's': smtpd();
          default: usage();
        }
        break;
      default: usage();
    }
  }
  const char* name = argv[0];
  if (const char* slash = std::strrchr(name, '/')) name = slash + 1;
  if (std::strcmp(name, "mailq") == 0) mailq();

  char** rest = opt.rest();
  int n = argc - opt.index();
  std::vector<char*> qi;
  qi.push_back(const_cast<char*>("bin/qmail-inject"));
  qi.push_back(const_cast<char*>(flagh ? "-H" : "-a"));
  Str user;
  if (sender) {
    qi.push_back(const_cast<char*>("-f"));
    qi.push_back(const_cast<char*>(sender));
    do_sender(sender, user);
  }
  qi.push_back(const_cast<char*>("--"));
  for (int i = 0; i < n; ++i) qi.push_back(rest[i]);
  qi.push_back(nullptr);
  run(qi[0], qi.data(), "qmail-inject");
}

}  // namespace

extern const AppletInfo applet_sendmail = {
    "the sendmail interface: run qmail-inject (or qmail-qread, qmail-smtpd)", kUsage,
    sendmail_main};
