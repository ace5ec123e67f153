// addcr: copies standard input to standard output, adding CR before each LF.
#include "base/applet.hpp"
#include "io/filter.hpp"

using namespace qbox;

static int addcr_main(int, char**) {
  return run_filter([](Writer& out, std::string_view in) {
    for (char c : in) {
      if (c == '\n') out.put('\r');
      out.put(c);
    }
  });
}

extern const AppletInfo applet_addcr = {"add a CR before every LF", "addcr", addcr_main};
