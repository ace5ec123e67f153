// cdb files read the way djb's cdb-0.75 tools read them, for cdbget,
// cdbdump, cdbstats and cdbtest, which must treat a damaged file exactly as
// the classic programs do (the same error at the same point, the same
// partial output), and which need what tinycdb does not expose: the number
// of hash slots a lookup probed, lookups on a descriptor that is not
// mapped, and the records in file order straight from a stream.
//
// CdbFile is djb's cdb_init/cdb_findnext: it never validates the file up
// front; a lookup follows the pointers it finds and fails with EPROTO
// ("protocol error") only when a read falls outside the file. Everything
// else that reads a cdb should use CdbReader (cdb/cdb.hpp).
//
// CdbScan walks the records of a cdb arriving on a Reader, as cdbdump does:
// the end-of-data pointer, the rest of the 2048-byte header, then
// (keylen, datalen, key, data) until the end of data. Positions are 32-bit
// and wrap around as they do in the classic tools.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "io/buffer.hpp"

namespace qbox {

inline constexpr std::uint32_t kCdbHeaderSize = 2048;

class CdbFile {
 public:
  CdbFile() = default;
  CdbFile(const CdbFile&) = delete;
  CdbFile& operator=(const CdbFile&) = delete;
  ~CdbFile() { release(); }

  // Reads the cdb on fd (which stays the caller's). Never fails: a file
  // that cannot be read shows as a failed read later. As in djb's
  // cdb_init, the size is taken once, from fstat: reads past it fail with
  // EPROTO, so a pipe (size 0) gives "protocol error" on the first lookup.
  void init(int fd);

  // Copies len bytes at pos. 0, or -1 with errno (EPROTO: past the end).
  int read(char* buf, std::uint32_t len, std::uint32_t pos);

  // Lookups: find_start, then find_next for each further record with the
  // same key. 1 found (data_pos/data_len set), 0 no more, -1 error.
  void find_start() { loop_ = 0; }
  int find_next(std::string_view key);
  int find(std::string_view key) { find_start(); return find_next(key); }

  std::uint32_t data_pos() const { return dpos_; }
  std::uint32_t data_len() const { return dlen_; }
  // Hash slots probed by the lookup so far (cdbstats' distance + 1).
  std::uint32_t loop() const { return loop_; }

 private:
  void release();
  int match(std::string_view key, std::uint32_t pos);

  int fd_ = -1;
  const char* map_ = nullptr;
  bool sized_ = false;  // size_ is known (fstat worked and it fits 32 bits)
  std::uint32_t size_ = 0;
  std::uint32_t loop_ = 0, khash_ = 0, kpos_ = 0, hpos_ = 0, hslots_ = 0;
  std::uint32_t dpos_ = 0, dlen_ = 0;
};

class CdbScan {
 public:
  explicit CdbScan(Reader& in) : in_(in) {}

  // get/skip/start/next return 1 done, 0 at a premature end of input (a
  // truncated file), -1 on a read error (errno).

  // Reads the header: the end of the data, then up to byte 2048.
  int start();
  // True while the next record starts before the end of the data.
  bool more() const { return pos_ < eod_; }
  // Reads a record's key and data lengths; the key, then the data, follow.
  int next(std::uint32_t& klen, std::uint32_t& dlen);
  // Exactly n bytes.
  int get(char* buf, std::size_t n);
  int skip(std::uint32_t n);
  // Bytes read so far, modulo 2^32: the file position of the next byte.
  std::uint32_t pos() const { return pos_; }

 private:
  int get_num(std::uint32_t& n);

  Reader& in_;
  std::uint32_t pos_ = 0, eod_ = 0;
};

}  // namespace qbox
