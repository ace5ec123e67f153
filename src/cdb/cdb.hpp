// cdb: constant databases (cr.yp.to/cdb.html), a thin wrapper over tinycdb.
// CdbReader maps a file and looks keys up; CdbMaker writes a new file under
// a temporary name and renames it into place only once it is complete and
// fsynced, so readers see the old file or the new one, never half of one.
#pragma once
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
  // Removes the temporary file if finish() was not reached.
  ~CdbMaker();

  // Creates `tmp` (truncating it). 0 or -1 with errno.
  int start(const char* final_path, const char* tmp_path);
  int add(std::string_view key, std::string_view value);
  // Writes the index, fsyncs, closes and renames tmp over final.
  // On failure errno tells why and `failed_step()` names the step.
  int finish();
  const char* failed_step() const { return step_; }

 private:
  struct cdb_make* mk_ = nullptr;
  int fd_ = -1;
  Str final_, tmp_;
  const char* step_ = "";
};

}  // namespace qbox
