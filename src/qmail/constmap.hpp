// qmail's constmap: the lines of a control file (as Control::readfile
// returns them, each followed by a NUL) as a set to look strings up in,
// ignoring ASCII case. With `colon`, each line is "key:value" and a lookup
// returns the value (lines without a colon are left out); when a key comes
// twice, the later line wins, as in qmail.
#pragma once
#include <optional>
#include <string_view>
#include <vector>

#include "base/str.hpp"

namespace qbox::qmail {

class ConstMap {
 public:
  void init(std::string_view lines, bool colon);
  // The value for key (empty without `colon`), or nullopt.
  std::optional<std::string_view> find(std::string_view key) const;
  bool contains(std::string_view key) const { return find(key).has_value(); }
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string_view key, value;
    std::size_t line;  // its place in the file
  };
  Str text_;
  std::vector<Entry> entries_;  // sorted by key, ignoring case; later lines last
};

// ASCII case-insensitive comparison (qmail's case_diffb): <0, 0 or >0.
int case_compare(std::string_view a, std::string_view b);

}  // namespace qbox::qmail
