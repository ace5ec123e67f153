#include "net/ifaddr.hpp"

#include <cstring>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "net/ip.hpp"

namespace qbox::net {

int is_local_ip(const uint8_t ip[16]) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return -1;
  int found = 0;
  for (ifaddrs* i = list; i && !found; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    uint8_t a[16];
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      v4mapped(reinterpret_cast<const uint8_t*>(&sin->sin_addr), a);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      std::memcpy(a, &sin6->sin6_addr, 16);
    } else {
      continue;
    }
    found = std::memcmp(a, ip, 16) == 0;
  }
  ::freeifaddrs(list);
  return found;
}

}  // namespace qbox::net
