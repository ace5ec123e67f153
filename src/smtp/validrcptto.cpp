#include "smtp/validrcptto.hpp"

#include "base/str.hpp"
#include "cdb/cdb.hpp"

namespace qbox::smtp {

int validrcptto_check(CdbReader& db, std::string_view address) {
  Str addr(address);
  for (std::size_t i = 0; i < addr.size(); ++i)
    if (addr[i] >= 'A' && addr[i] <= 'Z') addr[i] = static_cast<char>(addr[i] - 'A' + 'a');
  int r = db.find(addr.view());
  if (r != 0) return r;
  std::size_t at = addr.view().rfind('@');
  if (at == std::string_view::npos) return 0;
  std::string_view local = addr.view().substr(0, at), domain = addr.view().substr(at);
  Str key;
  for (std::size_t dash = local.rfind('-'); dash != std::string_view::npos;
       dash = dash ? local.rfind('-', dash - 1) : std::string_view::npos) {
    key = local.substr(0, dash + 1);
    key.append("default");
    key.append(domain);
    r = db.find(key.view());
    if (r != 0) return r;
  }
  return db.find(domain);
}

}  // namespace qbox::smtp
