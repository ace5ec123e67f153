// delcr: copies standard input to standard output, removing the CR of each
// CR LF. A CR followed by anything else, or at the end of input, stays.
#include "base/applet.hpp"
#include "io/filter.hpp"

using namespace qbox;

static int delcr_main(int, char**) {
  bool pending_cr = false;
  return run_filter([&](Writer& out, std::string_view in) {
    if (in.empty() && pending_cr) out.put('\r');
    for (char c : in) {
      if (pending_cr && c != '\n') out.put('\r');
      pending_cr = (c == '\r');
      if (!pending_cr) out.put(c);
    }
  });
}

extern const AppletInfo applet_delcr = {"remove the CR of every CR LF", "delcr", delcr_main};
