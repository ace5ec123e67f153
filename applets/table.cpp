#include "applets/table.hpp"

#include <algorithm>
#include <array>

#define APPLET(name, id, safe) extern const qbox::AppletInfo applet_##id;
#include "applets/list.def"
#undef APPLET

namespace qbox {
namespace {

constexpr std::array kApplets = {
#define APPLET(name, id, safe) Applet{name, &applet_##id, safe},
#include "applets/list.def"
#undef APPLET
};

constexpr bool sorted() {
  for (std::size_t i = 1; i < kApplets.size(); ++i)
    if (!(kApplets[i - 1].name < kApplets[i].name)) return false;
  return true;
}
static_assert(sorted(), "applets/list.def must be sorted by name, without repeats");

}  // namespace

std::span<const Applet> applets() { return kApplets; }

const Applet* find_applet(std::string_view name) {
  auto it = std::lower_bound(kApplets.begin(), kApplets.end(), name,
                             [](const Applet& a, std::string_view n) { return a.name < n; });
  if (it == kApplets.end() || it->name != name) return nullptr;
  return &*it;
}

}  // namespace qbox
