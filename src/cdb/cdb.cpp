#include "cdb/cdb.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/die.hpp"
#include "base/fd.hpp"

extern "C" {
#include <cdb.h>
}

namespace qbox {

int CdbReader::open(const char* path) {
  int fd = open_read(path);
  if (fd < 0) return -1;
  return open_fd(fd);
}

int CdbReader::open_fd(int fd) {
  close();
  db_ = static_cast<struct cdb*>(std::calloc(1, sizeof(struct cdb)));
  if (!db_) out_of_memory();
  if (cdb_init(db_, fd) != 0) {
    int e = errno;
    ::close(fd);
    std::free(db_);
    db_ = nullptr;
    errno = e ? e : EPROTO;
    return -1;
  }
  return 0;
}

void CdbReader::close() {
  if (!db_) return;
  int fd = cdb_fileno(db_);
  cdb_free(db_);
  ::close(fd);
  std::free(db_);
  std::free(finder_);
  db_ = nullptr;
  finder_ = nullptr;
}

static std::string_view view_at(const struct cdb* db, unsigned len, unsigned pos) {
  const void* p = cdb_get(db, len, pos);
  return p ? std::string_view(static_cast<const char*>(p), len) : std::string_view();
}

int CdbReader::find(std::string_view key) {
  int r = cdb_find(db_, key.data(), static_cast<unsigned>(key.size()));
  if (r > 0) value_ = view_at(db_, cdb_datalen(db_), cdb_datapos(db_));
  if (r < 0 && !errno) errno = EPROTO;
  return r > 0 ? 1 : r;
}

int CdbReader::find_start(std::string_view key) {
  if (!finder_) {
    finder_ = std::calloc(1, sizeof(struct cdb_find));
    if (!finder_) out_of_memory();
  }
  auto* f = static_cast<struct cdb_find*>(finder_);
  int r = cdb_findinit(f, db_, key.data(), static_cast<unsigned>(key.size()));
  if (r < 0 && !errno) errno = EPROTO;
  return r < 0 ? -1 : 0;
}

int CdbReader::find_next() {
  int r = cdb_findnext(static_cast<struct cdb_find*>(finder_));
  if (r > 0) {
    value_ = view_at(db_, cdb_datalen(db_), cdb_datapos(db_));
    return 1;
  }
  if (r < 0 && !errno) errno = EPROTO;
  return r;
}

int CdbReader::next_record(unsigned& pos, std::string_view& key, std::string_view& value) {
  if (pos == 0) cdb_seqinit(&pos, db_);
  int r = cdb_seqnext(&pos, db_);
  if (r <= 0) {
    if (r < 0 && !errno) errno = EPROTO;
    return r;
  }
  key = view_at(db_, cdb_keylen(db_), cdb_keypos(db_));
  value = view_at(db_, cdb_datalen(db_), cdb_datapos(db_));
  return 1;
}

std::string_view CdbReader::bytes() const {
  return {reinterpret_cast<const char*>(db_->cdb_mem), db_->cdb_fsize};
}

CdbMaker::~CdbMaker() {
  if (mk_) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
    std::free(mk_);
  }
}

int CdbMaker::start(const char* final_path, const char* tmp_path) {
  final_ = final_path;
  tmp_ = tmp_path;
  step_ = "create";
  fd_ = open_trunc(tmp_path);
  if (fd_ < 0) return -1;
  mk_ = static_cast<struct cdb_make*>(std::calloc(1, sizeof(struct cdb_make)));
  if (!mk_) out_of_memory();
  if (cdb_make_start(mk_, fd_) != 0) {
    step_ = "write";
    return -1;
  }
  return 0;
}

int CdbMaker::add(std::string_view key, std::string_view value) {
  step_ = "write";
  // tinycdb keeps 32-bit offsets: refuse what would not fit.
  if (key.size() > 0xffffffffu - 8 || value.size() > 0xffffffffu - 8 - key.size()) {
    errno = EFBIG;
    return -1;
  }
  if (cdb_make_add(mk_, key.data(), static_cast<unsigned>(key.size()), value.data(),
                   static_cast<unsigned>(value.size())) != 0) {
    if (!errno) errno = ENOMEM;
    return -1;
  }
  return 0;
}

int CdbMaker::finish() {
  step_ = "write";
  if (cdb_make_finish(mk_) != 0) return -1;
  std::free(mk_);
  mk_ = nullptr;
  step_ = "fsync";
  if (::fsync(fd_) != 0) { int e = errno; ::close(fd_); ::unlink(tmp_.c_str()); errno = e; return -1; }
  step_ = "close";
  if (::close(fd_) != 0) { int e = errno; ::unlink(tmp_.c_str()); errno = e; return -1; }
  step_ = "rename";
  if (::rename(tmp_.c_str(), final_.c_str()) != 0) { int e = errno; ::unlink(tmp_.c_str()); errno = e; return -1; }
  return 0;
}

}  // namespace qbox
