// The line-oriented connection an SMTP server talks over: plain
// descriptors, or TLS after STARTTLS (or under sslserver). qmail-smtpd
// implements it; the AUTH exchange (smtp/auth) only sees this interface.
#pragma once
#include <cstddef>
#include <string_view>

#include "base/str.hpp"

namespace qbox::smtp {

class LineIo {
 public:
  // Reads one line into `line` (cleared first), without its CR LF or LF.
  // 1 a line; 0 end of input; -1 error or timeout (errno); -2 the line was
  // longer than max (the rest of it is consumed).
  virtual int getline(Str& line, std::size_t max) = 0;
  // Buffered output; 0 ok, -1 error (errno).
  virtual int put(std::string_view s) = 0;
  virtual int flush() = 0;
  // True once TLS protects the connection.
  virtual bool tls() const = 0;

 protected:
  ~LineIo() = default;
};

}  // namespace qbox::smtp
