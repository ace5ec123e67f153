#include "smtp/validrcptto.hpp"

#include "base/str.hpp"
#include "cdb/cdb.hpp"

namespace qbox::smtp {

namespace {

// 1 the key is there and accepts, 0 it refuses, -1 error; 2 not there.
int lookup(CdbReader& db, std::string_view key, Str* found) {
  int r = db.find(key);
  if (r == 0) return 2;
  if (r < 0) return r;
  if (found) *found = key;
  std::string_view v = db.value();
  return !v.empty() && v[0] == '-' ? 0 : 1;
}

}  // namespace

int validrcptto_check(CdbReader& db, std::string_view address, Str* found) {
  Str addr(address);
  for (std::size_t i = 0; i < addr.size(); ++i)
    if (addr[i] >= 'A' && addr[i] <= 'Z') addr[i] = static_cast<char>(addr[i] - 'A' + 'a');
  int r = lookup(db, addr.view(), found);
  if (r != 2) return r;
  std::size_t at = addr.view().rfind('@');
  if (at == std::string_view::npos) return 0;
  std::string_view local = addr.view().substr(0, at), domain = addr.view().substr(at);
  Str key;
  for (std::size_t dash = local.rfind('-'); dash != std::string_view::npos;
       dash = dash ? local.rfind('-', dash - 1) : std::string_view::npos) {
    key = local.substr(0, dash + 1);
    key.append("default");
    key.append(domain);
    r = lookup(db, key.view(), found);
    if (r != 2) return r;
  }
  r = lookup(db, domain, found);
  return r == 2 ? 0 : r;
}

}  // namespace qbox::smtp
