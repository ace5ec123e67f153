#include "smtp/policy.hpp"

#include <cerrno>

namespace qbox::smtp {

namespace {

void lower_in_place(Str& s) {
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] >= 'A' && s[i] <= 'Z') s[i] = static_cast<char>(s[i] + 32);
}

}  // namespace

int RcptHosts::init(const qmail::Control& ctl, const char** failed) {
  Str lines;
  *failed = "control/rcpthosts";
  int r = ctl.readfile(lines, "control/rcpthosts", false);
  if (r < 0) return -1;
  have_list_ = r == 1;
  if (!have_list_) return 0;
  map_.init(lines.view(), false);
  *failed = "control/morercpthosts.cdb";
  if (more_.open("control/morercpthosts.cdb") != 0 && errno != ENOENT) return -1;
  return 0;
}

int RcptHosts::allowed(std::string_view addr) {
  if (!have_list_) return 1;
  std::size_t at = addr.rfind('@');
  if (at == std::string_view::npos) return 1;
  Str host(addr.substr(at + 1));
  lower_in_place(host);
  std::string_view h = host.view();
  // The domain itself, then each ".suffix" of it.
  for (std::size_t j = 0; j < h.size(); ++j)
    if (j == 0 || h[j] == '.')
      if (map_.contains(h.substr(j))) return 1;
  if (more_.is_open()) {
    for (std::size_t j = 0; j < h.size(); ++j) {
      if (j != 0 && h[j] != '.') continue;
      int r = more_.find(h.substr(j));
      if (r != 0) return r;
    }
  }
  return 0;
}

bool address_listed(const qmail::ConstMap& map, std::string_view addr) {
  if (map.contains(addr)) return true;
  std::size_t at = addr.rfind('@');
  return at != std::string_view::npos && map.contains(addr.substr(at));
}

}  // namespace qbox::smtp
