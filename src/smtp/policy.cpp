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

int validrcptto_lookup(CdbReader& db, std::string_view addr, Str& found_key) {
  Str key(addr);
  lower_in_place(key);
  auto try_key = [&](std::string_view k) -> int {
    int r = db.find(k);
    if (r == 1) found_key = k;
    return r;
  };
  int r = try_key(key.view());
  std::size_t at = key.view().rfind('@');
  if (r == 0 && at != std::string_view::npos) {
    // "a-b-c@d": then "a-b-default@d", "a-default@d", as qmail-local would
    // look for .qmail-b-c's defaults.
    std::string_view local = key.view().substr(0, at);
    std::string_view domain = key.view().substr(at);
    while (r == 0) {
      std::size_t dash = local.rfind('-');
      if (dash == std::string_view::npos) break;
      local = local.substr(0, dash);
      Str k(local);
      k.append("-default");
      k.append(domain);
      r = try_key(k.view());
    }
    if (r == 0) r = try_key(domain);
  }
  if (r != 1) return r;
  std::string_view v = db.value();
  return !v.empty() && v[0] == '-' ? 0 : 1;
}

}  // namespace qbox::smtp
