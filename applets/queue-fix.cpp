// queue-fix: creates a qmail queue, or checks and repairs one, with the
// interface of Eric Huss's well-known tool: queue-fix [-N] [-v] [-s split]
// queuedir.
//   -N  test mode: report what would be done and change nothing; exit 1
//       when the queue needs repairs, 0 when it is fine
//   -v  verbose: report every action
//   -s  the split (default: QMAILHOME/control/conf-split, else 23)
//
// It makes what is missing of qmail's layout (directories, split
// subdirectories, lock/sendmutex, lock/tcpto, the lock/trigger fifo) and
// corrects owners and modes as qmail's installer sets them: qmail's users
// and group in system mode (as root), the current user in single-uid mode.
// Then it repairs the messages:
//   - a message file not named by its inode, or in the wrong split
//     directory, is renamed, and its info, local, remote, intd, todo and
//     bounce files with it (also out of split directories past the split,
//     which are then removed);
//   - a file in info, local, remote, intd, todo or bounce without its
//     message, or with a name that is not a number, is removed, and so are
//     stale pid/ files;
//   - a message qmail-send would never deliver is removed: one with neither
//     todo nor info (qmail-queue did not finish, or qmail-clean did not);
//   - a message with local or remote recipients but no info (and no todo)
//     gets an info file with the null sender, so that it is delivered.
// Like the original, it must run while nothing uses the queue. Symbolic
// links inside the queue are never followed; a file of the wrong type
// stops it ("can't autofix").
#include <cerrno>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>
#include <vector>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "base/getopt.hpp"
#include "base/num.hpp"
#include "base/str.hpp"
#include "io/buffer.hpp"
#include "qmail/ids.hpp"
#include "queue/layout.hpp"
#include "queue/scan.hpp"

using namespace qbox;
using queue::Kind;
using queue::Owner;

namespace {

constexpr char kUsage[] = "queue-fix [-N] [-v] [-s split] queuedir";
constexpr char kFatal[] = "queue-fix: fatal: ";
constexpr char kWarn[] = "queue-fix: warning: ";

class Fixer {
 public:
  Fixer(Writer& out, bool doit, bool verbose, unsigned split, std::string_view root)
      : out_(out), doit_(doit), verbose_(doit ? verbose : true), split_(split), root_(root) {
    if (root_.empty() || root_.back() != '/') root_.push('/');
    qmail::load_ids_or_die(ids_, kFatal);
  }

  void layout();
  void names();
  void strays();
  void messages();
  void extra_splits();
  unsigned long problems() const { return problems_; }

 private:
  // "root/rel"
  Str path(std::string_view rel) const {
    Str p(root_);
    p.append(rel);
    return p;
  }
  uid_t uid_of(Owner o) const {
    switch (o) {
      case Owner::kQmailq: return ids_.qmailq;
      case Owner::kQmails: return ids_.qmails;
      case Owner::kQmailr: return ids_.qmailr;
    }
    return ids_.qmailq;
  }
  static const char* name_of(Owner o) {
    switch (o) {
      case Owner::kQmailq: return "qmailq";
      case Owner::kQmails: return "qmails";
      case Owner::kQmailr: return "qmailr";
    }
    return "";
  }

  // One action: counted as a problem (unless it only completes one that
  // was counted already) and printed in verbose and test mode.
  template <class... A>
  void report(const A&... a) {
    if (counting_) ++problems_;
    if (!verbose_) return;
    for (std::string_view s : {std::string_view(a)...}) put(s);
    put("\n");
  }
  void put(std::string_view s) {
    if (out_.put(s) < 0) die_sys(kExitTemp, kFatal, "unable to write output: ");
  }
  template <class... A>
  [[noreturn]] void fatal(const A&... a) {
    out_.flush();
    die(kExitTemp, kFatal, a...);
  }
  template <class... A>
  [[noreturn]] void fatal_sys(const A&... a) {
    out_.flush();
    die_sys(kExitTemp, kFatal, a...);
  }

  // Makes the directory or special file at rel exist with owner and mode.
  void entry(std::string_view rel, Kind kind, Owner owner, mode_t mode, std::size_t size);
  // Fixes owner (and group, unless any_group) and mode of what is at p.
  void meta(const Str& p, const struct stat& st, uid_t uid, bool any_group, mode_t mode,
            const char* owner_name);
  // Checks the files directly in dir (relative): regular, owner, mode.
  void files_in(std::string_view dir, Owner owner, mode_t mode);
  void remove(const Str& p);
  void rename_to(const Str& from, const Str& to);
  // The numeric subdirectories of a split directory, including those past
  // the split.
  // The entries of rel (not "." and ".."), with lstat's answer (`there`
  // false when it failed). In test mode a missing directory has none (it
  // would have been made); otherwise a directory that cannot be read is
  // fatal.
  struct Item {
    Str name, path;
    struct stat st;
    bool there;
  };
  std::vector<Item> list(std::string_view rel);
  // Entries that are not numbered directories are left alone, and
  // reported when `complain`.
  void numeric_subdirs(std::string_view dir, std::vector<unsigned long>& out, bool complain = false);
  bool exists(const Str& p) const {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0;
  }

  Writer& out_;
  bool doit_, verbose_;
  unsigned split_;
  Str root_;
  qmail::Ids ids_;
  unsigned long problems_ = 0;
  bool counting_ = true;
};

std::string_view fmt_octal(char (&b)[kNumDigits], unsigned long v) {
  std::size_t n = kNumDigits;
  do {
    b[--n] = static_cast<char>('0' + (v & 7));
    v >>= 3;
  } while (v);
  return {b + n, kNumDigits - n};
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kDir:
    case Kind::kSplitDir: return "a directory";
    case Kind::kFile: return "a regular file";
    case Kind::kFifo: return "a fifo";
  }
  return "";
}

bool kind_ok(Kind k, mode_t m) {
  switch (k) {
    case Kind::kDir:
    case Kind::kSplitDir: return S_ISDIR(m);
    case Kind::kFile: return S_ISREG(m);
    case Kind::kFifo: return S_ISFIFO(m);
  }
  return false;
}

void Fixer::meta(const Str& p, const struct stat& st, uid_t uid, bool any_group, mode_t mode,
                 const char* owner_name) {
  gid_t gid = ids_.qmail;
  bool owner_bad = st.st_uid != uid || (!any_group && st.st_gid != gid);
  bool mode_bad = (st.st_mode & 07777) != mode;
  if (!owner_bad && !mode_bad) return;
  char u[kNumDigits], g[kNumDigits], m[kNumDigits];
  std::string_view us = fmt_num(u, uid), gs = fmt_num(g, any_group ? st.st_gid : gid);
  if (owner_bad) {
    if (ids_.system)
      report("Changing ownership   of [", p.view(), "] to uid ", us, " (", owner_name, ") gid ", gs,
             " (qmail)");
    else
      report("Changing ownership   of [", p.view(), "] to uid ", us, " gid ", gs);
  }
  if (mode_bad) report("Changing permissions of [", p.view(), "] to mode [", fmt_octal(m, mode), "]");
  if (!doit_) return;
  // Through a descriptor opened without following links, so that nothing
  // planted in the queue can redirect a chown made as root.
  int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0);
  Fd fd(::open(p.c_str(), flags));
  if (fd) {
    struct stat now;
    if (::fstat(fd.get(), &now) != 0 || now.st_ino != st.st_ino)
      fatal(p.view(), " changed while being fixed");
    if (owner_bad && ::fchown(fd.get(), uid, any_group ? static_cast<gid_t>(-1) : gid) != 0)
      fatal_sys("unable to chown ", p.view(), ": ");
    if (mode_bad && ::fchmod(fd.get(), mode) != 0) fatal_sys("unable to chmod ", p.view(), ": ");
    return;
  }
  // Unreadable to its owner in single-uid mode (e.g. mode 0200): by name,
  // after lstat said it is no link.
  if (errno != EACCES || ids_.system) fatal_sys("unable to open ", p.view(), ": ");
  if (owner_bad && ::lchown(p.c_str(), uid, any_group ? static_cast<gid_t>(-1) : gid) != 0)
    fatal_sys("unable to chown ", p.view(), ": ");
  if (mode_bad && ::chmod(p.c_str(), mode) != 0) fatal_sys("unable to chmod ", p.view(), ": ");
}

void Fixer::entry(std::string_view rel, Kind kind, Owner owner, mode_t mode, std::size_t size) {
  Str p = path(rel);
  if (rel.empty()) p.truncate(p.size() - 1);  // the queue directory itself
  struct stat st;
  if (::lstat(p.c_str(), &st) != 0) {
    if (errno != ENOENT) fatal_sys("unable to stat ", p.view(), ": ");
    switch (kind) {
      case Kind::kDir:
      case Kind::kSplitDir:
        report("Creating directory [", p.view(), "]");
        if (doit_ && ::mkdir(p.c_str(), 0700) != 0) fatal_sys("unable to mkdir ", p.view(), ": ");
        break;
      case Kind::kFile: {
        char n[kNumDigits];
        report("Creating [", p.view(), "] with size [", fmt_num(n, size), "]");
        if (doit_) {
          Fd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
          if (!fd) fatal_sys("unable to create ", p.view(), ": ");
          if (size && ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
            fatal_sys("unable to write ", p.view(), ": ");
        }
        break;
      }
      case Kind::kFifo:
        report("Creating fifo [", p.view(), "]");
        if (doit_ && ::mkfifo(p.c_str(), 0600) != 0) fatal_sys("unable to mkfifo ", p.view(), ": ");
        break;
    }
    if (!doit_) return;
    if (::lstat(p.c_str(), &st) != 0) fatal_sys("unable to stat ", p.view(), ": ");
    counting_ = false;  // the creation was the problem; owner and mode follow from it
    meta(p, st, uid_of(owner), false, mode, name_of(owner));
    counting_ = true;
    return;
  }
  if (!kind_ok(kind, st.st_mode))
    fatal(p.view(), " is not ", kind_name(kind), ". Can't autofix: remove it and try again");
  meta(p, st, uid_of(owner), false, mode, name_of(owner));
  if (kind == Kind::kFile && static_cast<std::size_t>(st.st_size) != size) {
    char n[kNumDigits];
    report("Resetting [", p.view(), "] to size [", fmt_num(n, size), "]");
    if (doit_) {
      Fd fd(::open(p.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd || ::ftruncate(fd.get(), 0) != 0 ||
          (size && ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0))
        fatal_sys("unable to write ", p.view(), ": ");
    }
  }
}

void Fixer::remove(const Str& p) {
  report("Unlinking [", p.view(), "]");
  if (doit_ && ::unlink(p.c_str()) != 0 && errno != ENOENT)
    fatal_sys("unable to unlink ", p.view(), ": ");
}

void Fixer::rename_to(const Str& from, const Str& to) {
  report("Renaming [", from.view(), "] to [", to.view(), "]");
  if (doit_ && ::rename(from.c_str(), to.c_str()) != 0)
    fatal_sys("unable to rename ", from.view(), " to ", to.view(), ": ");
}

std::vector<Fixer::Item> Fixer::list(std::string_view rel) {
  std::vector<Item> out;
  Str p = path(rel);
  DIR* d = ::opendir(p.c_str());
  if (!d) {
    if (!doit_ && errno == ENOENT) return out;
    fatal_sys("unable to open directory ", p.view(), ": ");
  }
  while (struct dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    Item it;
    it.name = n;
    it.path = p;
    it.path.push('/');
    it.path.append(n);
    out.push_back(static_cast<Item&&>(it));
  }
  ::closedir(d);
  for (Item& it : out) it.there = ::lstat(it.path.c_str(), &it.st) == 0;
  return out;
}

void Fixer::numeric_subdirs(std::string_view dir, std::vector<unsigned long>& out, bool complain) {
  out.clear();
  for (const Item& it : list(dir)) {
    auto id = queue::parse_id(it.name.view());
    if (id && it.there && S_ISDIR(it.st.st_mode)) {
      out.push_back(*id);
    } else if (complain) {
      ++problems_;
      warn(kWarn, "unexpected ", it.path.view(), " left alone");
    }
  }
}

void Fixer::files_in(std::string_view dir, Owner owner, mode_t mode) {
  for (const Item& it : list(dir)) {
    if (!it.there) continue;
    if (!S_ISREG(it.st.st_mode)) {
      ++problems_;
      warn(kWarn, it.path.view(), " is not a regular file; left alone");
      continue;
    }
    meta(it.path, it.st, uid_of(owner), true, mode, name_of(owner));
  }
}

void Fixer::layout() {
  for (const queue::Entry& e : queue::kEntries) {
    entry(e.name, e.kind, e.owner, e.mode, e.size);
    if (e.kind == Kind::kSplitDir) {
      for (unsigned i = 0; i < split_; ++i) {
        Str sub(e.name);
        sub.push('/');
        sub.append_num(i);
        entry(sub.view(), Kind::kDir, e.owner, e.mode, 0);
      }
      std::vector<unsigned long> subs;
      numeric_subdirs(e.name, subs, true);
      for (unsigned long i : subs) {
        Str sub(e.name);
        sub.push('/');
        sub.append_num(i);
        if (i >= split_) entry(sub.view(), Kind::kDir, e.owner, e.mode, 0);
        files_in(sub.view(), e.owner, e.file_mode);
      }
    } else if (e.kind == Kind::kDir && e.file_mode) {
      files_in(e.name, e.owner, e.file_mode);
    }
  }
}

// Companions of a message: the split directories, then the flat ones.
constexpr const char* kSplitCompanions[] = {"info", "local", "remote"};
constexpr const char* kFlatCompanions[] = {"intd", "todo", "bounce"};

void Fixer::names() {
  std::vector<unsigned long> subs;
  numeric_subdirs("mess", subs);
  struct Move {
    unsigned long from_dir;
    Str from_name;
    unsigned long id;
  };
  std::vector<Move> moves;
  for (unsigned long sd : subs) {
    Str dir("mess/");
    dir.append_num(sd);
    for (const Item& it : list(dir.view())) {
      if (!it.there || !S_ISREG(it.st.st_mode)) continue;
      unsigned long id = static_cast<unsigned long>(it.st.st_ino);
      auto named = queue::parse_id(it.name.view());
      if (named && *named == id && sd == id % split_) continue;
      moves.push_back({sd, it.name, id});
    }
  }
  // Two steps, through ".tmp" names, so that messages trading names
  // cannot overwrite each other.
  for (int step = 0; step < 2; ++step) {
    for (const Move& m : moves) {
      auto one = [&](const char* dir, bool split) {
        // The file's first name, its .tmp name, its last name.
        Str names[3];
        for (int k = 0; k < 3; ++k) {
          names[k] = std::string_view(dir);
          names[k].push('/');
          if (split) {
            names[k].append_num(k == 0 ? m.from_dir : m.id % split_);
            names[k].push('/');
          }
          if (k == 0) {
            names[k].append(m.from_name.view());
          } else {
            names[k].append_num(m.id);
            if (k == 1) names[k].append(".tmp");
          }
        }
        if (names[0] == names[2]) return;  // a flat companion already named right
        Str pf = path(names[step].view()), pt = path(names[step + 1].view());
        if (!exists(pf)) return;
        if (exists(pt)) {
          // A .tmp name taken, or a message file already named so: left
          // for a person. A companion file in the way belongs to no
          // message (only this one has this inode): it goes.
          if (step == 0 || std::string_view(dir) == "mess")
            fatal(pt.view(), " is in the way; a previous run may have been interrupted");
          remove(pt);
        }
        if (step == 0) {
          rename_to(pf, pt);
        } else {
          // The second half of one renaming: not a problem of its own.
          if (doit_ && ::rename(pf.c_str(), pt.c_str()) != 0)
            fatal_sys("unable to rename ", pf.view(), " to ", pt.view(), ": ");
        }
      };
      one("mess", true);
      for (const char* c : kSplitCompanions) one(c, true);
      for (const char* c : kFlatCompanions) one(c, false);
    }
    if (!doit_) break;  // nothing was renamed; the second step would find nothing
  }
}

void Fixer::strays() {
  auto check = [&](const char* dir, unsigned long sd, bool split) {
    Str rel(dir);
    if (split) {
      rel.push('/');
      rel.append_num(sd);
    }
    for (const Item& it : list(rel.view())) {
      if (!it.there || !S_ISREG(it.st.st_mode)) continue;  // reported before
      auto id = queue::parse_id(it.name.view());
      Str mess;
      if (id) queue::fmt_qfn(mess, "mess/", *id, split_);
      if (!id || !exists(path(mess.view()))) {
        remove(it.path);
        continue;
      }
      if (split && sd != *id % split_) {
        Str to;
        queue::fmt_qfn(to, Str(dir).append("/").view(), *id, split_);
        Str pt = path(to.view());
        if (exists(pt)) remove(it.path);
        else rename_to(it.path, pt);
      }
    }
  };
  std::vector<unsigned long> subs;
  for (const char* c : kSplitCompanions) {
    numeric_subdirs(c, subs);
    for (unsigned long sd : subs) check(c, sd, true);
  }
  for (const char* c : kFlatCompanions) check(c, 0, false);
  // pid/ holds qmail-queue's first name of a message for a moment only.
  for (const Item& it : list("pid"))
    if (it.there && S_ISREG(it.st.st_mode)) remove(it.path);
}

void Fixer::messages() {
  for (unsigned sd = 0; sd < split_; ++sd) {
    Str rel("mess/");
    rel.append_num(sd);
    std::vector<unsigned long> ids;
    for (const Item& it : list(rel.view()))
      if (auto id = queue::parse_id(it.name.view())) ids.push_back(*id);
    for (unsigned long id : ids) {
      auto has = [&](const char* dir, bool split) {
        Str f;
        queue::fmt_qfn(f, Str(dir).append("/").view(), id, split ? split_ : 0);
        return exists(path(f.view()));
      };
      if (has("todo", false) || has("info", true)) continue;
      Str mess;
      queue::fmt_qfn(mess, "mess/", id, split_);
      Str pm = path(mess.view());
      struct stat st;
      if (::lstat(pm.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (has("local", true) || has("remote", true)) {
        // Recipients without a sender: deliver, with the null sender.
        Str info;
        queue::fmt_qfn(info, "info/", id, split_);
        Str pi = path(info.view());
        report("Creating [", pi.view(), "] with the null sender");
        if (!doit_) continue;
        Fd fd(::open(pi.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd || write_all(fd.get(), std::string_view("F\0", 2)) != 0 || ::fsync(fd.get()) != 0)
          fatal_sys("unable to write ", pi.view(), ": ");
        if (ids_.system && ::fchown(fd.get(), ids_.qmails, ids_.qmail) != 0)
          fatal_sys("unable to chown ", pi.view(), ": ");
        // qmail-send counts the queue lifetime from info's mtime.
        struct timespec times[2] = {st.st_mtim, st.st_mtim};
        ::futimens(fd.get(), times);
        continue;
      }
      // Neither todo nor info: qmail-send would never deliver it.
      for (const char* c : {"intd", "bounce"}) {
        Str f;
        queue::fmt_qfn(f, Str(c).append("/").view(), id, 0);
        Str pf = path(f.view());
        if (exists(pf)) remove(pf);
      }
      remove(pm);
    }
  }
}

void Fixer::extra_splits() {
  std::vector<unsigned long> subs;
  for (const queue::Entry& e : queue::kEntries) {
    if (e.kind != Kind::kSplitDir) continue;
    numeric_subdirs(e.name, subs);
    for (unsigned long i : subs) {
      if (i < split_) continue;
      Str p = path(e.name);
      p.push('/');
      p.append_num(i);
      report("Removing directory [", p.view(), "]");
      if (doit_ && ::rmdir(p.c_str()) != 0) {
        ++problems_;
        warn_sys(kWarn, "unable to remove ", p.view(), ": ");
      }
    }
  }
}

int queue_fix_main(int argc, char** argv) {
  bool doit = true, verbose = false;
  unsigned split = 0;
  GetOpt opt(argc, argv, "Nvs:");
  for (int c; (c = opt.next()) != -1;) {
    switch (c) {
      case 'N': doit = false; break;
      case 'v': verbose = true; break;
      case 's': {
        auto v = parse_num(opt.arg(), queue::kMaxSplit);
        if (!v || *v == 0) die(kExitPerm, kFatal, "split must be a number from 1 to 10000");
        split = static_cast<unsigned>(*v);
        break;
      }
      default: die_usage(kUsage);
    }
  }
  char** rest = opt.rest();
  if (!rest[0] || rest[1]) die_usage(kUsage);
  if (!split) {
    split = queue::conf_split(qmail_home());
    if (!split) die_sys(kExitTemp, kFatal, "unable to read ", qmail_home(), "/control/conf-split: ");
  }
  ::umask(077);

  char buf[4096];
  Writer out(1, buf);
  Fixer f(out, doit, verbose, split, rest[0]);
  f.layout();
  f.names();
  f.strays();
  f.messages();
  f.extra_splits();
  if (verbose || !doit) {
    char n[kNumDigits];
    out.put("queue-fix finished with ");
    out.put(fmt_num(n, f.problems()));
    out.put(f.problems() == 1 ? " problem\n" : " problems\n");
  }
  if (out.flush() < 0) die_sys(kExitTemp, kFatal, "unable to write output: ");
  if (!doit) return f.problems() ? 1 : 0;
  return 0;
}

}  // namespace

extern const AppletInfo applet_queue_fix = {
    "create a qmail queue, or check and repair one", kUsage, queue_fix_main};
