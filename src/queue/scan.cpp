#include "queue/scan.hpp"

#include <cerrno>

#include "base/num.hpp"

namespace qbox::queue {

std::optional<unsigned long> parse_id(std::string_view name) {
  auto v = parse_num(name, static_cast<unsigned long>(-1));
  if (!v) return std::nullopt;
  return static_cast<unsigned long>(*v);
}

DirScan::DirScan(std::string_view dir, unsigned split) : dir_(dir), split_(split) {}

DirScan::~DirScan() {
  if (d_) ::closedir(d_);
}

DirScan::Result DirScan::next() {
  for (;;) {
    if (!d_) {
      unsigned count = split_ ? split_ : 1;
      if (started_ && (!split_ || pos_ >= count)) return kDone;
      if (pos_ >= count) return kDone;
      started_ = true;
      sub_ = dir_.view();
      if (split_) {
        sub_.push('/');
        sub_.append_num(pos_);
      }
      ++pos_;
      d_ = ::opendir(sub_.c_str());
      if (!d_) return kOpenError;
    }
    errno = 0;
    struct dirent* e = ::readdir(d_);
    if (!e) {
      ::closedir(d_);
      d_ = nullptr;
      continue;
    }
    name_ = e->d_name;
    if (name_ == "." || name_ == "..") continue;
    auto id = parse_id(name_);
    if (!id) return kOddName;
    id_ = *id;
    return kId;
  }
}

}  // namespace qbox::queue
