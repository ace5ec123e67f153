// The applet table: every program qbox can be, sorted by name.
#pragma once
#include <span>
#include <string_view>

#include "base/applet.hpp"

namespace qbox {

struct Applet {
  std::string_view name;
  const AppletInfo* info;
  bool setuid_safe;
};

std::span<const Applet> applets();
const Applet* find_applet(std::string_view name);

}  // namespace qbox
