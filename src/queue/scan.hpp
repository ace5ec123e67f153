// Walking the queue's directories as qmail's readsubdir does: the ids in
// DIR/0, DIR/1, ... DIR/(split-1), each directory in readdir order, and
// names that are not numbers reported apart. Also the flat directories
// (todo, intd, bounce) with split 0.
#pragma once
#include <dirent.h>
#include <optional>
#include <string_view>

#include "base/str.hpp"

namespace qbox::queue {

// A queue file name as an id: decimal digits only, no sign, no overflow.
std::optional<unsigned long> parse_id(std::string_view name);

class DirScan {
 public:
  // dir: e.g. "info" (relative to the current directory) or a full path.
  // split 0: dir itself is flat.
  DirScan(std::string_view dir, unsigned split);
  ~DirScan();
  DirScan(const DirScan&) = delete;
  DirScan& operator=(const DirScan&) = delete;

  enum Result { kDone = 0, kId = 1, kOpenError = -1, kOddName = -2 };
  // kId: id() and name() are the entry; kOddName: name() is not a number
  // (".", ".." are skipped); kOpenError: dir_name() could not be opened
  // (errno), and the walk goes on with the next one; kDone: no more.
  Result next();
  unsigned long id() const { return id_; }
  std::string_view name() const { return name_; }
  // The directory the last entry (or error) came from, e.g. "info/7".
  std::string_view dir_name() const { return sub_.view(); }

 private:
  Str dir_;
  Str sub_;
  unsigned split_;
  unsigned pos_ = 0;
  bool started_ = false;
  DIR* d_ = nullptr;
  unsigned long id_ = 0;
  std::string_view name_;
};

}  // namespace qbox::queue
