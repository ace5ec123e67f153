// Who may send what to whom: the lists qmail-smtpd checks envelope
// addresses against.
//
//   control/rcpthosts, control/morercpthosts.cdb  the domains mail is
//       accepted for (qmail's rcpthosts.c): the domain or a ".suffix" of
//       it in either; without rcpthosts every domain is accepted, and
//       morercpthosts.cdb is only read next to a rcpthosts file.
//   control/badmailfrom, control/badrcptto  addresses refused: a line is
//       an address, or "@domain" for every address there (ignoring case).
// (validrcptto.cdb, the list of addresses that exist, is smtp/validrcptto.)
#pragma once
#include <string_view>

#include "base/str.hpp"
#include "cdb/cdb.hpp"
#include "qmail/constmap.hpp"
#include "qmail/control.hpp"

namespace qbox::smtp {

class RcptHosts {
 public:
  // Reads control/rcpthosts and opens control/morercpthosts.cdb (paths
  // relative to the installation, where qmail-smtpd runs). 0 ok, -1 error
  // (errno; `failed` names the file).
  int init(const qmail::Control& ctl, const char** failed);
  // 1 the address's domain is accepted, 0 not, -1 error reading the cdb.
  // An address without '@' is accepted (qmail appends envnoathost later).
  int allowed(std::string_view addr);
  bool restricted() const { return have_list_; }

 private:
  bool have_list_ = false;
  qmail::ConstMap map_;
  CdbReader more_;
};

// True when addr, or "@" and its domain, is a line of the map.
bool address_listed(const qmail::ConstMap& map, std::string_view addr);

}  // namespace qbox::smtp
