// cdb: constant databases (cr.yp.to/cdb.html), a thin wrapper over tinycdb.
// CdbReader maps a file and looks keys up; CdbMaker writes a new file under
// a temporary name and renames it into place only once it is complete and
// fsynced, so readers see the old file or the new one, never half of one.
#pragma once
#include <cstdint>
#include <string_view>

#include "base/str.hpp"

struct cdb;
struct cdb_make;

namespace qbox {

class CdbReader {
 public:
  CdbReader() = default;
  CdbReader(const CdbReader&) = delete;
  CdbReader& operator=(const CdbReader&) = delete;
  ~CdbReader() { close(); }

  // 0, or -1 with errno (EPROTO: not a cdb file).
  int open(const char* path);
  // Takes ownership of fd.
  int open_fd(int fd);
  void close();
  bool is_open() const { return db_ != nullptr; }

  // 1 found (see value()), 0 not found, -1 error (EPROTO for a damaged file).
  int find(std::string_view key);
  // For keys that occur more than once: find_start, then find_next until it
  // returns 0. Same results as find().
  int find_start(std::string_view key);
  int find_next();
  std::string_view value() const { return value_; }

  // Walks every record in file order: 1 with key/value set, 0 at the end,
  // -1 on a damaged file. `pos` starts at 0.
  int next_record(unsigned& pos, std::string_view& key, std::string_view& value);

  // The whole mapped file, for tools that check its structure.
  std::string_view bytes() const;

 private:
  struct cdb* db_ = nullptr;
  void* finder_ = nullptr;  // struct cdb_find, allocated on find_start
  std::string_view value_;
};

class CdbMaker {
 public:
  CdbMaker() = default;
  CdbMaker(const CdbMaker&) = delete;
  CdbMaker& operator=(const CdbMaker&) = delete;
  // Removes the temporary file if finish() was not reached (and when
  // finish() fails), unless it was not a regular file.
  ~CdbMaker();

  // Creates `tmp` (truncating it); fails at once if it cannot seek, as
  // djb's cdb_make_start does. 0 or -1 with errno.
  int start(const char* final_path, const char* tmp_path);
  // -1 with ENOMEM when the record would end past 4 GB.
  int add(std::string_view key, std::string_view value);
  // Writes the index, fsyncs, closes and renames tmp over final.
  // On failure errno tells why and `failed_step()` names the step.
  int finish();
  const char* failed_step() const { return step_; }
  // Whether the hash tables of `records` records still fit in 32-bit
  // offsets after data ending at `end_of_data` (finish fails with ENOMEM).
  static bool tables_fit(std::uint32_t end_of_data, std::uint32_t records);

 private:
  void discard();

  struct cdb_make* mk_ = nullptr;
  int fd_ = -1;
  Str final_, tmp_;
  const char* step_ = "";
  bool regular_ = false;  // tmp is a regular file: safe to remove
  std::uint32_t pos_ = 2048;  // end of the records so far
  std::uint32_t records_ = 0;
};

}  // namespace qbox
