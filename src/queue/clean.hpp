// The asking side of qmail-clean's protocol, used by qmail-send (foop/ID)
// and qmail-todo (todo/ID), each over a pipe pair of its own.
#pragma once
#include <string_view>

namespace qbox::queue {

// Writes prefix, id and a NUL to `to` (prefix is "foop/" or "todo/"), reads
// qmail-clean's one-byte answer from `from`: '+' done, '!' a file could not
// be removed, 'x' a malformed command; kCleanUnsent when the command could
// not be written, kCleanNoAnswer when no answer came (qmail-clean is gone).
inline constexpr int kCleanUnsent = -1;
inline constexpr int kCleanNoAnswer = -2;
int ask_clean(int to, int from, std::string_view prefix, unsigned long id);

}  // namespace qbox::queue
