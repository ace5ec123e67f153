#include "queue/clean.hpp"

#include <cerrno>
#include <unistd.h>

#include "base/fd.hpp"
#include "base/str.hpp"

namespace qbox::queue {

int ask_clean(int to, int from, std::string_view prefix, unsigned long id) {
  Str cmd(prefix);
  cmd.append_num(id);
  cmd.push('\0');
  if (write_all(to, cmd.view()) != 0) return kCleanUnsent;
  char c;
  long r;
  while ((r = ::read(from, &c, 1)) < 0 && errno == EINTR) {
  }
  if (r != 1) return kCleanNoAnswer;
  return static_cast<unsigned char>(c);
}

}  // namespace qbox::queue
