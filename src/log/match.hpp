// multilog's patterns, as daemontools 0.76 matches them: every character
// stands for itself except `*`, which matches any string that does not
// contain the character after it (a final `*` matches everything). The
// whole line must match. So `*x*` means "contains an x"; `a*b` does not
// match "a-b-b" because the `*` stops at the first b.
#pragma once
#include <string_view>

namespace qbox::log {

bool match(std::string_view pattern, std::string_view line);

}  // namespace qbox::log
