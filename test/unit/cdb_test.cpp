#include <doctest/doctest.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <vector>

#include "base/fd.hpp"
#include "base/str.hpp"
#include "cdb/cdb.hpp"
#include "cdb/cdbfile.hpp"
#include "io/buffer.hpp"

using namespace qbox;

namespace {

// A scratch directory, removed with what it holds (files only).
struct TmpDir {
  char path[64];
  TmpDir() {
    std::strcpy(path, "/tmp/qbox-cdb-test-XXXXXX");
    REQUIRE(::mkdtemp(path) != nullptr);
  }
  ~TmpDir() {
    for (const char* n : {"db", "db.tmp", "raw", "fifo", "null", "full"}) ::unlink(file(n).c_str());
    ::rmdir(path);
  }
  Str file(const char* name) const {
    Str s(path);
    s.push('/');
    s.append(name);
    return s;
  }
};

bool exists(const Str& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

Str slurp(const Str& p) {
  Str s;
  REQUIRE(read_file(p.c_str(), s) == 0);
  return s;
}

void spit(const Str& p, std::string_view data) {
  Fd fd(open_trunc(p.c_str()));
  REQUIRE(fd.ok());
  REQUIRE(write_all(fd.get(), data) == 0);
}

struct Rec {
  std::string_view key, value;
};

// Makes tmp/db from the records; returns finish()'s result.
int make(const TmpDir& d, std::initializer_list<Rec> recs) {
  CdbMaker mk;
  REQUIRE(mk.start(d.file("db").c_str(), d.file("db.tmp").c_str()) == 0);
  for (const Rec& r : recs) REQUIRE(mk.add(r.key, r.value) == 0);
  return mk.finish();
}

void put32(Str& s, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 255);
}

// The djb hash, written out here to check the file layout independently.
std::uint32_t djb_hash(std::string_view k) {
  std::uint32_t h = 5381;
  for (unsigned char c : k) h = ((h << 5) + h) ^ c;
  return h;
}

}  // namespace

TEST_CASE("CdbMaker and CdbReader: make, find, not found") {
  TmpDir d;
  REQUIRE(make(d, {{"one", "1"}, {"two", "22"}, {std::string_view("b\0in", 4), std::string_view("\0\xff", 2)}, {"", "empty key"}}) == 0);
  CHECK_FALSE(exists(d.file("db.tmp")));
  CdbReader r;
  REQUIRE(r.open(d.file("db").c_str()) == 0);
  CHECK(r.find("one") == 1);
  CHECK(r.value() == "1");
  CHECK(r.find("two") == 1);
  CHECK(r.value() == "22");
  CHECK(r.find(std::string_view("b\0in", 4)) == 1);
  CHECK(r.value() == std::string_view("\0\xff", 2));
  CHECK(r.find("") == 1);
  CHECK(r.value() == "empty key");
  CHECK(r.find("three") == 0);
  CHECK(r.find("on") == 0);
}

TEST_CASE("CdbReader: find_start/find_next walk repeated keys in order") {
  TmpDir d;
  REQUIRE(make(d, {{"k", "a"}, {"x", "-"}, {"k", "b"}, {"k", "c"}}) == 0);
  CdbReader r;
  REQUIRE(r.open(d.file("db").c_str()) == 0);
  REQUIRE(r.find_start("k") == 0);
  Str seen;
  while (r.find_next() == 1) seen.append(r.value());
  CHECK(seen == "abc");
  CHECK(r.find_next() == 0);
  REQUIRE(r.find_start("nope") == 0);
  CHECK(r.find_next() == 0);
  CHECK(r.find("k") == 1);
  CHECK(r.value() == "a");
}

TEST_CASE("CdbReader: next_record gives the records in file order") {
  TmpDir d;
  REQUIRE(make(d, {{"z", "1"}, {"a", "2"}, {"z", "3"}}) == 0);
  CdbReader r;
  REQUIRE(r.open(d.file("db").c_str()) == 0);
  unsigned pos = 0;
  std::string_view k, v;
  Str all;
  while (r.next_record(pos, k, v) == 1) {
    all.append(k);
    all.append(v);
  }
  CHECK(all == "z1a2z3");
}

TEST_CASE("CdbMaker: an empty database is a 2048-byte header") {
  TmpDir d;
  REQUIRE(make(d, {}) == 0);
  Str s = slurp(d.file("db"));
  REQUIRE(s.size() == 2048);
  for (std::size_t i = 0; i < 2048; i += 8) {
    CHECK(static_cast<unsigned char>(s[i]) == 0x00);
    CHECK(static_cast<unsigned char>(s[i + 1]) == 0x08);  // every table at 2048, empty
  }
  CdbReader r;
  REQUIRE(r.open(d.file("db").c_str()) == 0);
  CHECK(r.find("x") == 0);
  unsigned pos = 0;
  std::string_view k, v;
  CHECK(r.next_record(pos, k, v) == 0);
}

TEST_CASE("CdbMaker: the file layout is djb's") {
  TmpDir d;
  REQUIRE(make(d, {{"ab", "xyz"}}) == 0);
  Str s = slurp(d.file("db"));
  // header, record (8 + 2 + 3), then one table of two slots
  REQUIRE(s.size() == 2048 + 13 + 16);
  std::uint32_t h = djb_hash("ab");
  CdbFile f;
  Fd fd(open_read(d.file("db").c_str()));
  f.init(fd.get());
  char b[8];
  REQUIRE(f.read(b, 8, (h & 255) * 8) == 0);
  Str slot(std::string_view(b, 8)), want(std::string_view("\0\0\0\0\0\0\0\0", 8));
  put32(want, 0, 2048 + 13);
  put32(want, 4, 2);
  CHECK(slot == want);
  CHECK(s.view().substr(2048, 13) == std::string_view("\2\0\0\0\3\0\0\0abxyz", 13));
}

TEST_CASE("CdbReader: damaged files fail with EPROTO, never crash") {
  TmpDir d;
  spit(d.file("raw"), "short");
  CdbReader r;
  errno = 0;
  CHECK(r.open(d.file("raw").c_str()) == -1);
  CHECK(errno == EPROTO);
  CHECK(r.open(d.file("nodir").c_str()) == -1);
  CHECK(errno == ENOENT);

  // A table pointer past the end of the file.
  REQUIRE(make(d, {{"k", "v"}}) == 0);
  Str s = slurp(d.file("db"));
  std::uint32_t h = djb_hash("k");
  put32(s, (h & 255) * 8, 0x7fffffff);
  spit(d.file("raw"), s);
  REQUIRE(r.open(d.file("raw").c_str()) == 0);
  CHECK(r.find("k") == -1);
  CHECK(errno == EPROTO);

  // A record whose data runs past the end.
  s = slurp(d.file("db"));
  put32(s, 2048 + 4, 1000000);
  spit(d.file("raw"), s);
  REQUIRE(r.open(d.file("raw").c_str()) == 0);
  CHECK(r.find("k") == -1);
}

TEST_CASE("CdbMaker: atomic replace, no temporary file left") {
  TmpDir d;
  REQUIRE(make(d, {{"k", "old"}}) == 0);
  CdbReader before;
  REQUIRE(before.open(d.file("db").c_str()) == 0);
  REQUIRE(make(d, {{"k", "new"}}) == 0);
  CHECK_FALSE(exists(d.file("db.tmp")));
  // The reader opened before still sees the old file; a new one the new.
  CHECK(before.find("k") == 1);
  CHECK(before.value() == "old");
  CdbReader after;
  REQUIRE(after.open(d.file("db").c_str()) == 0);
  CHECK(after.find("k") == 1);
  CHECK(after.value() == "new");
}

TEST_CASE("CdbMaker: failures name their step and leave no temporary file") {
  TmpDir d;
  {
    CdbMaker mk;
    CHECK(mk.start(d.file("db").c_str(), d.file("nodir/db.tmp").c_str()) == -1);
    CHECK(errno == ENOENT);
    CHECK(std::string_view(mk.failed_step()) == "create");
  }
  {
    CdbMaker mk;
    REQUIRE(mk.start(d.file("nodir/db").c_str(), d.file("db.tmp").c_str()) == 0);
    REQUIRE(mk.add("k", "v") == 0);
    CHECK(mk.finish() == -1);
    CHECK(errno == ENOENT);
    CHECK(std::string_view(mk.failed_step()) == "rename");
    CHECK_FALSE(exists(d.file("db.tmp")));
  }
  {
    CdbMaker mk;
    REQUIRE(mk.start(d.file("db").c_str(), d.file("db.tmp").c_str()) == 0);
    REQUIRE(mk.add("k", "v") == 0);
    CHECK(exists(d.file("db.tmp")));
  }  // abandoned: the destructor removes the temporary file
  CHECK_FALSE(exists(d.file("db.tmp")));
  CHECK_FALSE(exists(d.file("db")));
}

TEST_CASE("CdbMaker: a fifo as the temporary file fails at once") {
  TmpDir d;
  Str fifo = d.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  {
    CdbMaker mk;
    errno = 0;
    CHECK(mk.start(d.file("db").c_str(), fifo.c_str()) == -1);  // no reader: no hang
    CHECK(errno == ENXIO);
    CHECK(std::string_view(mk.failed_step()) == "create");
  }
  Fd reader(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK));
  REQUIRE(reader.ok());
  {
    CdbMaker mk;
    errno = 0;
    CHECK(mk.start(d.file("db").c_str(), fifo.c_str()) == -1);  // cannot seek
    CHECK(errno == ESPIPE);
  }
  CHECK(exists(fifo));
}

TEST_CASE("CdbMaker: a device as the temporary file is never removed") {
  TmpDir d;
  Str null = d.file("null"), full = d.file("full");
  if (::mknod(null.c_str(), S_IFCHR | 0600, makedev(1, 3)) != 0 ||
      ::mknod(full.c_str(), S_IFCHR | 0600, makedev(1, 7)) != 0) {
    MESSAGE("mknod needs root: device cases not run");
    return;
  }
  {
    CdbMaker mk;
    REQUIRE(mk.start(d.file("db").c_str(), null.c_str()) == 0);
    REQUIRE(mk.add("k", "v") == 0);
    errno = 0;
    CHECK(mk.finish() == -1);
    CHECK(errno == EINVAL);  // fsync on a character device
    CHECK(std::string_view(mk.failed_step()) == "fsync");
  }
  CHECK(exists(null));
  {
    // The index cannot be written: finish fails inside tinycdb, and the
    // destructor must not free its lists a second time.
    CdbMaker mk;
    REQUIRE(mk.start(d.file("db").c_str(), full.c_str()) == 0);
    REQUIRE(mk.add("k", "v") == 0);
    errno = 0;
    CHECK(mk.finish() == -1);
    CHECK(errno == ENOSPC);
    CHECK(std::string_view(mk.failed_step()) == "write");
  }
  CHECK(exists(full));
  CHECK_FALSE(exists(d.file("db")));
}

TEST_CASE("CdbMaker: records past 4 GB are refused with ENOMEM") {
  TmpDir d;
  CdbMaker mk;
  REQUIRE(mk.start(d.file("db").c_str(), d.file("db.tmp").c_str()) == 0);
  // Lengths only: the check comes before any byte is read.
  const char* fake = "x";
  errno = 0;
  CHECK(mk.add(std::string_view(fake, 0xffffffffu - 2048 - 7), "") == -1);
  CHECK(errno == ENOMEM);
  errno = 0;
  CHECK(mk.add("k", std::string_view(fake, 0xffffffffu - 2048 - 8)) == -1);
  CHECK(errno == ENOMEM);
  CHECK(mk.add("k", "v") == 0);
  CHECK(CdbMaker::tables_fit(2048, 1000));
  CHECK(CdbMaker::tables_fit(0xffffffffu - 16, 1));
  CHECK_FALSE(CdbMaker::tables_fit(0xffffffffu - 15, 1));
  CHECK_FALSE(CdbMaker::tables_fit(0xf0000000u, 0x01000000u));
}

TEST_CASE("CdbFile: lookups, repeated keys and the probe count") {
  TmpDir d;
  REQUIRE(make(d, {{"k", "a"}, {"other", "xx"}, {"k", "bb"}}) == 0);
  Fd fd(open_read(d.file("db").c_str()));
  CdbFile f;
  f.init(fd.get());
  REQUIRE(f.find("other") == 1);
  CHECK(f.data_pos() == 2048 + 8 + 1 + 1 + 8 + 5);
  CHECK(f.data_len() == 2);
  CHECK(f.loop() >= 1);
  char buf[2];
  REQUIRE(f.read(buf, 2, f.data_pos()) == 0);
  CHECK(std::string_view(buf, 2) == "xx");

  f.find_start();
  REQUIRE(f.find_next("k") == 1);
  CHECK(f.data_pos() == 2048 + 9);
  CHECK(f.data_len() == 1);
  REQUIRE(f.find_next("k") == 1);
  CHECK(f.data_len() == 2);
  CHECK(f.loop() == 2);  // both "k" records share one table of four slots
  CHECK(f.find_next("k") == 0);
  CHECK(f.find("missing") == 0);
  CHECK(f.find("") == 0);
}

TEST_CASE("CdbFile: reads outside the file are EPROTO") {
  TmpDir d;
  REQUIRE(make(d, {{"k", "v"}}) == 0);
  Fd fd(open_read(d.file("db").c_str()));
  CdbFile f;
  f.init(fd.get());
  char b[8];
  std::uint32_t size = 2048 + 10 + 16;
  CHECK(f.read(b, 8, size - 8) == 0);
  CHECK(f.read(b, 0, size) == 0);
  errno = 0;
  CHECK(f.read(b, 8, size - 7) == -1);
  CHECK(errno == EPROTO);
  CHECK(f.read(b, 1, size + 1) == -1);
  CHECK(f.read(b, 8, 0xfffffffcu) == -1);
}

TEST_CASE("CdbFile: damaged files, pipes and closed descriptors") {
  TmpDir d;
  struct Found {
    int r, err;
  };
  // Looks `key` up in a file holding `bytes`.
  auto find_in = [&](std::string_view bytes, std::string_view key) {
    spit(d.file("raw"), bytes);
    Fd fd(open_read(d.file("raw").c_str()));
    CdbFile f;
    f.init(fd.get());
    errno = 0;
    Found res{f.find(key), 0};
    res.err = errno;
    return res;
  };
  // A file shorter than its header: the slot for the key is past the end.
  Found res = find_in(std::string_view("\0\0\0\0\0\0\0\0", 8), "k");
  CHECK(res.r == -1);
  CHECK(res.err == EPROTO);

  REQUIRE(make(d, {{"k", "v"}}) == 0);
  Str good = slurp(d.file("db"));
  std::uint32_t h = djb_hash("k");
  // A table pointer past the end.
  Str s = good;
  put32(s, (h & 255) * 8, 0x10000000);
  res = find_in(s, "k");
  CHECK(res.r == -1);
  CHECK(res.err == EPROTO);
  // A huge slot count: the probe starts far past the end of the file.
  s = good;
  put32(s, (h & 255) * 8 + 4, 0xffffffffu);
  res = find_in(s, "k");
  CHECK(res.r == -1);
  CHECK(res.err == EPROTO);
  // A record whose stored key length differs is passed over unread.
  s = good;
  put32(s, 2048, 0x7fffffff);
  CHECK(find_in(s, "k").r == 0);
  CHECK(find_in(good, "k").r == 1);

  CdbFile f;
  // A pipe has size 0: the first read is a protocol error, as in cdb-0.75.
  int p[2];
  REQUIRE(::pipe(p) == 0);
  REQUIRE(write_all(p[1], good) == 0);
  f.init(p[0]);
  errno = 0;
  CHECK(f.find("k") == -1);
  CHECK(errno == EPROTO);
  ::close(p[0]);
  ::close(p[1]);
  // A closed descriptor: the read error itself.
  f.init(p[0]);
  errno = 0;
  CHECK(f.find("k") == -1);
  CHECK(errno == EBADF);
}

TEST_CASE("CdbFile: a long key is compared 32 bytes at a time") {
  // A hand-made file: the key's header slot points to a one-slot table at
  // 2048, whose slot points to a record at 2056 with a 100-byte key of
  // which only `stored` bytes are in the file.
  TmpDir d;
  Str key;
  for (int i = 0; i < 100; ++i) key.push(static_cast<char>('a' + i % 26));
  std::uint32_t h = djb_hash(key);
  auto file = [&](std::string_view stored) {
    Str s;
    s.resize(2056 + 8);
    put32(s, (h & 255) * 8, 2048);
    put32(s, (h & 255) * 8 + 4, 1);
    put32(s, 2048, h);
    put32(s, 2052, 2056);
    put32(s, 2056, 100);
    s.append(stored);
    spit(d.file("raw"), s);
    Fd fd(open_read(d.file("raw").c_str()));
    CdbFile f;
    f.init(fd.get());
    errno = 0;
    int r = f.find(key);
    if (r < 0) CHECK(errno == EPROTO);
    return r;
  };
  // The first 32 bytes are there and equal; the next chunk is cut: error.
  CHECK(file(key.view().substr(0, 40)) == -1);
  // The first chunk differs: no match, the rest is never read.
  Str other = key;
  other[0] = 'X';
  CHECK(file(other.view().substr(0, 40)) == 0);
  // The first chunk itself is cut: an error even though byte 0 differs.
  CHECK(file(other.view().substr(0, 20)) == -1);
  // All there: found, data of length 0 right after the key.
  CHECK(file(key) == 1);
}

namespace {

// Feeds `data` through a pipe into a CdbScan (small enough for the pipe).
struct ScanPipe {
  int p[2];
  char buf[64];
  Reader in;
  CdbScan scan;
  explicit ScanPipe(std::string_view data) : p{-1, -1}, in(open_pipe(data), buf), scan(in) {}
  ~ScanPipe() { ::close(p[0]); }
  int open_pipe(std::string_view data) {
    REQUIRE(::pipe(p) == 0);
    REQUIRE(write_all(p[1], data) == 0);
    ::close(p[1]);
    return p[0];
  }
};

}  // namespace

TEST_CASE("CdbScan: records in file order, positions") {
  TmpDir d;
  REQUIRE(make(d, {{"ab", "xyz"}, {"", ""}, {"k", std::string_view("\0", 1)}}) == 0);
  Str s = slurp(d.file("db"));
  ScanPipe sp(s);
  CdbScan& scan = sp.scan;
  REQUIRE(scan.start() == 1);
  CHECK(scan.pos() == 2048);
  Str got;
  while (scan.more()) {
    std::uint32_t k, v;
    REQUIRE(scan.next(k, v) == 1);
    char b[16];
    REQUIRE(scan.get(b, k) == 1);
    got.append(b, k);
    got.push('=');
    REQUIRE(scan.get(b, v) == 1);
    got.append(b, v);
    got.push(';');
  }
  CHECK(got == std::string_view("ab=xyz;=;k=\0;", 13));
  CHECK(scan.pos() == 2048 + 13 + 8 + 10);
}

TEST_CASE("CdbScan: truncated input and read errors") {
  {
    ScanPipe sp("");
    CHECK(sp.scan.start() == 0);
  }
  {
    ScanPipe sp("\0\x10\0");
    CHECK(sp.scan.start() == 0);
  }
  {
    Str hdr;
    hdr.resize(2047);
    ScanPipe sp(hdr);
    CHECK(sp.scan.start() == 0);
  }
  {
    Str hdr;
    hdr.resize(2048);
    put32(hdr, 0, 4000);
    hdr.append(std::string_view("\5\0\0\0\1\0\0\0ab", 10));
    ScanPipe sp(hdr);
    CdbScan& scan = sp.scan;
    REQUIRE(scan.start() == 1);
    CHECK(scan.more());
    std::uint32_t k = 0, v = 0;
    REQUIRE(scan.next(k, v) == 1);
    CHECK(k == 5);
    CHECK(v == 1);
    char b[8];
    CHECK(scan.get(b, k) == 0);  // only "ab" left
  }
  {
    Str hdr;
    hdr.resize(2048 + 4);
    put32(hdr, 0, 4000);
    ScanPipe sp(hdr);
    REQUIRE(sp.scan.start() == 1);
    std::uint32_t k, v;
    CHECK(sp.scan.next(k, v) == 0);
    CHECK(sp.scan.skip(1) == 0);
  }
  {
    // A directory: read fails with EISDIR.
    Fd dir(::open("/", O_RDONLY | O_DIRECTORY));
    REQUIRE(dir.ok());
    char buf[64];
    Reader in(dir.get(), buf);
    CdbScan scan(in);
    errno = 0;
    CHECK(scan.start() == -1);
    CHECK(errno == EISDIR);
  }
}

TEST_CASE("CdbScan: an end of data below 2048 means no records") {
  Str hdr;
  hdr.resize(2048);
  put32(hdr, 0, 100);
  ScanPipe sp(hdr);
  REQUIRE(sp.scan.start() == 1);
  CHECK_FALSE(sp.scan.more());
}
