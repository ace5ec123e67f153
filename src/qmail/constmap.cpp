#include "qmail/constmap.hpp"

#include <algorithm>

namespace qbox::qmail {

static unsigned char fold(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u >= 'A' && u <= 'Z' ? static_cast<unsigned char>(u - 'A' + 'a') : u;
}

int case_compare(std::string_view a, std::string_view b) {
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = fold(a[i]), y = fold(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

void ConstMap::init(std::string_view lines, bool colon) {
  text_ = lines;
  entries_.clear();
  std::string_view s = text_.view();
  while (!s.empty()) {
    std::size_t nul = s.find('\0');
    std::string_view line = s.substr(0, nul);
    s.remove_prefix(nul == std::string_view::npos ? s.size() : nul + 1);
    if (!colon) {
      entries_.push_back({line, {}, entries_.size()});
      continue;
    }
    std::size_t c = line.find(':');
    if (c == std::string_view::npos) continue;
    entries_.push_back({line.substr(0, c), line.substr(c + 1), entries_.size()});
  }
  std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    int c = case_compare(a.key, b.key);
    return c ? c < 0 : a.line < b.line;
  });
}

std::optional<std::string_view> ConstMap::find(std::string_view key) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), key,
                             [](std::string_view k, const Entry& e) {
                               return case_compare(k, e.key) < 0;
                             });
  if (it == entries_.begin()) return std::nullopt;
  --it;  // the last line with this key
  if (case_compare(it->key, key) != 0) return std::nullopt;
  return it->value;
}

}  // namespace qbox::qmail
