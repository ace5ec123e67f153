#include "cdb/cdbfile.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include <cdb.h>
}

namespace qbox {

static std::uint32_t unpack(const char* b) {
  return cdb_unpack(reinterpret_cast<const unsigned char*>(b));
}

void CdbFile::release() {
  if (map_) ::munmap(const_cast<char*>(map_), size_);
  map_ = nullptr;
}

void CdbFile::init(int fd) {
  release();
  find_start();
  fd_ = fd;
  sized_ = false;
  size_ = 0;
  struct stat st;
  if (::fstat(fd, &st) != 0 || st.st_size < 0 || st.st_size > 0xffffffff) return;
  sized_ = true;
  size_ = static_cast<std::uint32_t>(st.st_size);
  if (size_ == 0) return;
  void* m = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
  // Unmappable: read with pread, still bounded by the size.
  if (m != MAP_FAILED) map_ = static_cast<const char*>(m);
}

int CdbFile::read(char* buf, std::uint32_t len, std::uint32_t pos) {
  if (sized_ && (pos > size_ || size_ - pos < len)) {
    errno = EPROTO;
    return -1;
  }
  if (map_) {
    if (len) std::memcpy(buf, map_ + pos, len);
    return 0;
  }
  while (len > 0) {
    ssize_t r = ::pread(fd_, buf, len, static_cast<off_t>(pos));
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) {
      errno = EPROTO;
      return -1;
    }
    buf += r;
    len -= static_cast<std::uint32_t>(r);
    pos += static_cast<std::uint32_t>(r);
  }
  return 0;
}

// 1 when the key stored at pos is `key`, 0 when not, -1 on a failed read.
// Compares 32 bytes at a time, as djb's match() does, so a key running past
// the end of the file fails the same way.
int CdbFile::match(std::string_view key, std::uint32_t pos) {
  char buf[32];
  while (!key.empty()) {
    std::uint32_t n = static_cast<std::uint32_t>(std::min(key.size(), sizeof buf));
    if (read(buf, n, pos) < 0) return -1;
    if (std::memcmp(buf, key.data(), n) != 0) return 0;
    pos += n;
    key.remove_prefix(n);
  }
  return 1;
}

int CdbFile::find_next(std::string_view key) {
  const std::uint32_t len = static_cast<std::uint32_t>(key.size());
  char buf[8];
  if (!loop_) {
    std::uint32_t u = cdb_hash(key.data(), len);
    if (read(buf, 8, (u << 3) & 2047) < 0) return -1;
    hslots_ = unpack(buf + 4);
    if (!hslots_) return 0;
    hpos_ = unpack(buf);
    khash_ = u;
    kpos_ = hpos_ + (((u >> 8) % hslots_) << 3);
  }
  while (loop_ < hslots_) {
    if (read(buf, 8, kpos_) < 0) return -1;
    std::uint32_t pos = unpack(buf + 4);
    if (!pos) return 0;
    ++loop_;
    kpos_ += 8;
    if (kpos_ == hpos_ + (hslots_ << 3)) kpos_ = hpos_;
    if (unpack(buf) != khash_) continue;
    if (read(buf, 8, pos) < 0) return -1;
    if (unpack(buf) != len) continue;
    int m = match(key, pos + 8);
    if (m < 0) return -1;
    if (m > 0) {
      dlen_ = unpack(buf + 4);
      dpos_ = pos + 8 + len;
      return 1;
    }
  }
  return 0;
}

int CdbScan::get(char* buf, std::size_t n) {
  while (n > 0) {
    long r = in_.read(buf, n);
    if (r <= 0) return static_cast<int>(r);
    buf += r;
    n -= static_cast<std::size_t>(r);
    pos_ += static_cast<std::uint32_t>(r);
  }
  return 1;
}

int CdbScan::skip(std::uint32_t n) {
  while (n > 0) {
    long r = in_.fill();
    if (r <= 0) return static_cast<int>(r);
    std::uint32_t k = static_cast<std::uint32_t>(std::min<unsigned long>(n, static_cast<unsigned long>(r)));
    in_.skip(k);
    n -= k;
    pos_ += k;
  }
  return 1;
}

int CdbScan::get_num(std::uint32_t& num) {
  char b[4];
  int r = get(b, 4);
  if (r > 0) num = unpack(b);
  return r;
}

int CdbScan::start() {
  int r = get_num(eod_);
  if (r <= 0) return r;
  return skip(kCdbHeaderSize - pos_);
}

int CdbScan::next(std::uint32_t& klen, std::uint32_t& dlen) {
  int r = get_num(klen);
  if (r <= 0) return r;
  return get_num(dlen);
}

}  // namespace qbox
