#include "send/todo.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fd.hpp"
#include "io/buffer.hpp"
#include "queue/envelope.hpp"
#include "base/num.hpp"
#include "queue/layout.hpp"

namespace qbox::send {

namespace {

bool read_vdoms(Str& out, const qmail::Control& ctl) {
  out.clear();
  return ctl.readfile(out, "control/virtualdomains", false) >= 0;
}

// qmail's issafe for the info line: '%', controls and non-ASCII become '_'.
void append_safe(Str& out, std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\n') out.push('/');
    else if (c == '%' || u < 33 || u > 126) out.push('_');
    else out.push(c);
  }
}

void warn(Str& log, std::string_view what, std::string_view file) {
  log.append("warning: ");
  log.append(what);
  log.push(' ');
  log.append(file);
  log.push('\n');
}

// One queue file being written: created afresh, buffered, fsynced.
struct OutFile {
  Fd fd;
  char buf[1024];
  Writer w{-1, buf};
  Str name;
  bool open(Str&& n) {
    name = static_cast<Str&&>(n);
    fd.reset(open_excl(name.c_str()));
    if (!fd) return false;
    w = Writer(fd.get(), buf);
    return true;
  }
  bool finish() {
    if (w.flush() != 0 || ::fsync(fd.get()) != 0) return false;
    ::fchmod(fd.get(), 0600);
    return true;
  }
};

}  // namespace

bool Router::load() {
  if (ctl_.init() < 0) return false;
  if (ctl_.rldef(envnoathost_, "control/envnoathost", true, "envnoathost") < 0) return false;
  Str t;
  if (ctl_.readfile(t, "control/percenthack", false) < 0) return false;
  percenthack_.init(t.view(), false);
  return reload();
}

bool Router::reload() {
  Str l, v;
  if (ctl_.readfile(l, "control/locals", true) < 0) return false;
  if (!read_vdoms(v, ctl_)) return false;
  locals_.init(l.view(), false);
  vdoms_.init(v.view(), true);
  return true;
}

int Router::rewrite(std::string_view recip, Str& out) const {
  Str addr(recip);
  std::size_t at = addr.view().rfind('@');
  if (at == std::string_view::npos) {
    at = addr.size();
    addr.push('@');
    addr.append(envnoathost_);
  }
  while (percenthack_.contains(addr.view().substr(at + 1))) {
    std::size_t j = addr.view().substr(0, at).rfind('%');
    if (j == std::string_view::npos) break;
    addr.truncate(at);
    at = j;
    addr[at] = '@';
  }
  std::string_view a = addr.view();
  out.clear();
  if (locals_.contains(a.substr(at + 1))) { out = a; return 0; }
  for (std::size_t i = 0; i <= a.size(); ++i)
    if (i == 0 || i == at + 1 || i == a.size() || (i > at && a[i] == '.')) {
      auto x = vdoms_.find(a.substr(i));
      if (!x) continue;
      if (x->empty()) break;
      out.append(*x);
      out.push('-');
      out.append(a);
      return 0;
    }
  out = a;
  return 1;
}

bool take_todo(unsigned long id, unsigned split, const Router& router,
               bool (*clean)(unsigned long id), TodoDone& out) {
  static const char* const kChanDir[2] = {"local/", "remote/"};
  out = TodoDone();
  Str tf;
  queue::fmt_qfn(tf, "todo/", id, 0);
  Fd in(open_read(tf.c_str()));
  if (!in) {
    if (errno != ENOENT) warn(out.log, "unable to open", tf.view());
    return false;
  }
  Str f;
  queue::fmt_qfn(f, "mess/", id, split);
  struct stat st;
  if (::stat(f.c_str(), &st) != 0) {
    warn(out.log, "unable to stat", f.view());
    return false;
  }
  // An earlier try may have left any of these behind: start afresh.
  for (const char* dir : {kChanDir[0], kChanDir[1], "info/"}) {
    f.clear();
    queue::fmt_qfn(f, dir, id, split);
    if (::unlink(f.c_str()) != 0 && errno != ENOENT) {
      warn(out.log, "unable to unlink", f.view());
      return false;
    }
  }
  OutFile info, chan[2];
  f.clear();
  queue::fmt_qfn(f, "info/", id, split);
  if (!info.open(static_cast<Str&&>(f))) {
    warn(out.log, "unable to create", info.name.view());
    return false;
  }
  char ibuf[4096];
  Reader r(in.get(), ibuf);
  Str rec, addr, sender;
  unsigned long uid = 0, pid = 0;
  // Within the limits qmail-send reads local/ and remote/ files with
  // (queue::parse_channel): a todo/ file beyond them is damage, and what
  // was written of it goes again.
  std::uint64_t recipients = 0, chan_bytes[2] = {0, 0};
  auto beyond_limits = [&]() {
    warn(out.log, "too many recipients in", tf.view());
    for (OutFile* o : {&info, &chan[0], &chan[1]})
      if (o->fd) ::unlink(o->name.c_str());
    out.chan[0] = out.chan[1] = false;
    return false;
  };
  for (;;) {
    int k = queue::read_record(r, rec);
    if (k == 0) break;
    if (k < 0) { warn(out.log, "trouble reading", tf.view()); return false; }
    std::string_view v = rec.view();
    std::string_view val = v.substr(1);
    switch (v.empty() ? 0 : v[0]) {
      case 'u': scan_ulong(val, uid); break;
      case 'p': scan_ulong(val, pid); break;
      case 'F':
        sender = val;
        if (info.w.put(v) != 0 || info.w.put('\0') != 0) {
          warn(out.log, "trouble writing to", info.name.view());
          return false;
        }
        break;
      case 'T': {
        int c = router.rewrite(val, addr);
        chan_bytes[c] += addr.size() + 2;
        if (++recipients > queue::kMaxRecipients || chan_bytes[c] > queue::kMaxQueueFile ||
            addr.size() + 1 > queue::kMaxRecord)
          return beyond_limits();
        if (!chan[c].fd) {
          Str name;
          queue::fmt_qfn(name, kChanDir[c], id, split);
          if (!chan[c].open(static_cast<Str&&>(name))) {
            warn(out.log, "unable to create", chan[c].name.view());
            return false;
          }
          out.chan[c] = true;
        }
        if (chan[c].w.put('T') != 0 || chan[c].w.put(addr.view()) != 0 || chan[c].w.put('\0') != 0) {
          warn(out.log, "trouble writing to", chan[c].name.view());
          return false;
        }
        break;
      }
      default:
        warn(out.log, "unknown record type in", tf.view());
        return false;
    }
  }
  if (!info.finish()) { warn(out.log, "trouble writing to", info.name.view()); return false; }
  for (OutFile& c : chan)
    if (c.fd && !c.finish()) { warn(out.log, "trouble writing to", c.name.view()); return false; }
  if (!clean(id)) {
    warn(out.log, "qmail-clean unable to clean up", tf.view());
    out.chan[0] = out.chan[1] = false;
    return false;
  }
  out.log.append("new msg ");
  out.log.append_num(id);
  out.log.append("\ninfo msg ");
  out.log.append_num(id);
  out.log.append(": bytes ");
  out.log.append_num(static_cast<unsigned long long>(st.st_size));
  out.log.append(" from <");
  append_safe(out.log, sender.view());
  out.log.append("> qp ");
  out.log.append_num(pid);
  out.log.append(" uid ");
  out.log.append_num(uid);
  out.log.push('\n');
  return true;
}

}  // namespace qbox::send
