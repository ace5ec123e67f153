// qmail-todo: take new messages out of the queue's todo/ for qmail-send
// (the ext-todo design: a process of its own, so that a large todo/ never
// starves deliveries).
//
// Started by qmail-start, never by hand. Runs in QMAILHOME/queue.
//   fd 0: commands from qmail-send, one byte each: S start (sent once
//         qmail-send has scanned info/), H reread locals and
//         virtualdomains, A look at todo/ now, X finish
//   fd 1: to qmail-send, records ending in NUL: "L" text for the log,
//         "D" L|R|B|X id (message id taken over; its recipients went to
//         local/, remote/, both or neither), and "X" when finishing
//   fd 2/3: to/from a qmail-clean of its own
// todo/ is scanned when qmail-queue pulls lock/trigger, on A, and every 25
// minutes in any case; between two messages the commands are looked at, so
// X is obeyed at once.
#include <cerrno>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/fd.hpp"
#include "base/str.hpp"
#include "proc/child.hpp"
#include "queue/clean.hpp"
#include "queue/layout.hpp"
#include "queue/scan.hpp"
#include "send/todo.hpp"

using namespace qbox;

namespace {

constexpr int kSleepTodo = 1500;  // seconds between scans without a trigger

Str out;  // records for qmail-send, written before each wait

void send_records() {
  if (!out.empty() && write_all(1, out.view()) != 0) ::_exit(111);  // qmail-send is gone
  out.clear();
}

void log_line(std::string_view text) {
  out.push('L');
  out.append(text);
  out.push('\0');
}

bool clean_todo(unsigned long id) {
  int c = queue::ask_clean(2, 3, "todo/", id);
  if (c == queue::kCleanNoAnswer) {
    log_line("alert: qmail-todo: oh no! lost qmail-clean connection! dying...\n");
    send_records();
    ::_exit(111);
  }
  return c == '+';
}

struct Commands {
  bool start = false, reread = false, scan = false, stop = false;
};

// Reads what qmail-send said; with wait, blocks until something came.
void read_commands(Commands& cmd, int timeout_ms, int trigger, bool& pulled) {
  pollfd p[2] = {{0, POLLIN, 0}, {trigger, POLLIN, 0}};
  int n = trigger >= 0 ? 2 : 1;
  if (::poll(p, n, timeout_ms) <= 0) return;
  if (p[0].revents) {
    char buf[64];
    long r = ::read(0, buf, sizeof buf);
    if (r == 0) ::_exit(0);  // qmail-send is gone: nobody to report to
    for (long i = 0; i < r; ++i) switch (buf[i]) {
        case 'S': cmd.start = true; break;
        case 'H': cmd.reread = true; break;
        case 'A': cmd.scan = true; break;
        case 'X': cmd.stop = true; break;
        default: log_line("warning: qmail-todo: qmail-send speaks an obscure dialect\n");
      }
  }
  if (n == 2 && p[1].revents) {
    char buf[64];
    while (::read(trigger, buf, sizeof buf) > 0) pulled = true;
  }
}

int qmail_todo_main(int, char**) {
  const char* home = qmail_home();
  sig_ignore(SIGPIPE);
  ::umask(077);
  send::Router router;
  if (::chdir(home) != 0) {
    log_line("alert: qmail-todo: cannot start: unable to switch to home directory\n");
    send_records();
    ::_exit(111);
  }
  unsigned split = queue::conf_split(".");
  if (!split || !router.load()) {
    log_line("alert: qmail-todo: cannot start: unable to read controls\n");
    send_records();
    ::_exit(111);
  }
  if (::chdir("queue") != 0) {
    log_line("alert: qmail-todo: cannot start: unable to switch to queue directory\n");
    send_records();
    ::_exit(111);
  }
  Commands cmd;
  bool pulled = false;
  while (!cmd.start && !cmd.stop) read_commands(cmd, -1, -1, pulled);
  // Read and write: the fifo then never reports end of file, and a pull
  // while nobody holds it open still fails for qmail-queue as it should.
  Fd trigger(::open("lock/trigger", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  queue::DirScan* scan = nullptr;
  std::time_t next_scan = 0;
  for (;;) {
    if (cmd.stop) {
      delete scan;
      out.append("X");
      out.push('\0');
      send_records();
      ::_exit(0);
    }
    if (cmd.reread) {
      cmd.reread = false;
      if (::chdir(home) != 0 || !router.reload())
        log_line("alert: qmail-todo: unable to reread controls\n");
      if (::chdir("queue") != 0) {
        log_line("alert: qmail-todo: unable to switch back to queue directory\n");
        send_records();
        ::_exit(111);
      }
    }
    std::time_t now = ::time(nullptr);
    if (!scan && (pulled || cmd.scan || now >= next_scan)) {
      pulled = cmd.scan = false;
      scan = new queue::DirScan("todo", 0);
      next_scan = now + kSleepTodo;
    }
    if (scan) {
      auto r = scan->next();
      if (r == queue::DirScan::kDone) {
        delete scan;
        scan = nullptr;
      } else if (r == queue::DirScan::kOpenError) {
        log_line("alert: unable to opendir todo, sleeping...\n");
        delete scan;
        scan = nullptr;
        next_scan = now + 10;
      } else if (r == queue::DirScan::kId) {
        unsigned long id = scan->id();
        send::TodoDone done;
        bool taken = send::take_todo(id, split, router, clean_todo, done);
        if (!done.log.empty()) {
          log_line(done.log.view());
        }
        if (taken) {
          out.append("D");
          out.push(done.chan[0] && done.chan[1] ? 'B' : done.chan[0] ? 'L' : done.chan[1] ? 'R' : 'X');
          out.append_num(id);
          out.push('\0');
        }
      }
      send_records();
      read_commands(cmd, 0, trigger.get(), pulled);
      continue;
    }
    send_records();
    long wait = next_scan > now ? static_cast<long>(next_scan - now) * 1000 : 0;
    read_commands(cmd, static_cast<int>(wait), trigger.get(), pulled);
  }
}

}  // namespace

extern const AppletInfo applet_qmail_todo = {
    "take new messages out of todo/ for qmail-send", "qmail-todo", qmail_todo_main};
