// addcr: copies standard input to standard output, adding CR before each LF.
#include "base/applet.hpp"
#include "io/filter.hpp"
#include "io/text.hpp"

using namespace qbox;

static int addcr_main(int, char**) {
  WriterRef out;
  AddCr<WriterRef> add(out);
  return run_filter([&](Writer& w, std::string_view in) {
    out.w = &w;
    add.put(in);
  });
}

extern const AppletInfo applet_addcr = {"add a CR before every LF", "addcr", addcr_main};
