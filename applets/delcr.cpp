// delcr: copies standard input to standard output, removing the CR of each
// CR LF. A CR followed by anything else, or at the end of input, stays.
#include "base/applet.hpp"
#include "io/filter.hpp"
#include "io/text.hpp"

using namespace qbox;

static int delcr_main(int, char**) {
  WriterRef out;
  DelCr<WriterRef> del(out);
  return run_filter([&](Writer& w, std::string_view in) {
    out.w = &w;
    if (in.empty()) del.finish();
    else del.put(in);
  });
}

extern const AppletInfo applet_delcr = {"remove the CR of every CR LF", "delcr", delcr_main};
