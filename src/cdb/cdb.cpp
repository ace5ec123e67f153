#include "cdb/cdb.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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
    // tinycdb frees its record lists only in cdb_make_finish: run it on no
    // descriptor, so it fails at its first write without touching the file.
    mk_->cdb_fd = -1;
    cdb_make_finish(mk_);
    ::close(fd_);
    discard();
    std::free(mk_);
  }
}

void CdbMaker::discard() {
  // Only a file this maker wrote as a plain file: never a device or a fifo
  // that was named as the temporary file (cdbmake f /dev/null).
  if (regular_) ::unlink(tmp_.c_str());
}

int CdbMaker::start(const char* final_path, const char* tmp_path) {
  final_ = final_path;
  tmp_ = tmp_path;
  step_ = "create";
  // Opened without blocking, as djb's open_trunc does: a fifo with no
  // reader fails (ENXIO) instead of hanging.
  fd_ = ::open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd_ < 0) return -1;
  set_nonblock(fd_, false);
  struct stat st;
  regular_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
  // Like djb's cdb_make_start, which seeks past the header: a descriptor
  // that cannot seek fails now, before any input is read.
  if (::lseek(fd_, 0, SEEK_SET) < 0) {
    int e = errno;
    ::close(fd_);
    errno = e;
    return -1;
  }
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
  // 32-bit offsets: refuse a record that would end past 4 GB, with djb's
  // cdb_make errno ("out of memory").
  const std::uint64_t room = 0xffffffffu - pos_;
  if (room < 8 || key.size() > room - 8 || value.size() > room - 8 - key.size()) {
    errno = ENOMEM;
    return -1;
  }
  if (cdb_make_add(mk_, key.data(), static_cast<unsigned>(key.size()), value.data(),
                   static_cast<unsigned>(value.size())) != 0) {
    if (!errno) errno = ENOMEM;
    return -1;
  }
  pos_ += static_cast<std::uint32_t>(8 + key.size() + value.size());
  ++records_;
  return 0;
}

bool CdbMaker::tables_fit(std::uint32_t end_of_data, std::uint32_t records) {
  // Two 8-byte slots per record (tinycdb checks only one).
  return (0xffffffffu - end_of_data) / 16 >= records;
}

int CdbMaker::finish() {
  step_ = "write";
  if (!tables_fit(pos_, records_)) {
    errno = ENOMEM;
    return -1;
  }
  int r = cdb_make_finish(mk_);
  // Its record lists are freed, whether it worked or not.
  std::memset(mk_->cdb_rec, 0, sizeof mk_->cdb_rec);
  if (r != 0) return -1;
  std::free(mk_);
  mk_ = nullptr;
  step_ = "fsync";
  if (::fsync(fd_) != 0) { int e = errno; ::close(fd_); discard(); errno = e; return -1; }
  step_ = "close";
  if (::close(fd_) != 0) { int e = errno; discard(); errno = e; return -1; }
  step_ = "rename";
  if (::rename(tmp_.c_str(), final_.c_str()) != 0) { int e = errno; discard(); errno = e; return -1; }
  return 0;
}

}  // namespace qbox
