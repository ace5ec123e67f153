// The body of DATA, as qmail's blast() reads it, plus the header checks
// qmail-smtpd makes on the way.
//
// End of data is CR LF "." CR LF and nothing else: the start of the data
// counts as following a CR LF, so "." CR LF at once is an empty message.
// A bare LF anywhere (not after a CR) ends the session with qmail's 451
// (see http://pobox.com/~djb/docs/smtplf.html): so no "<LF>.<LF>",
// "<CR>.<CR>", "<LF>.<CR><LF>", "<CR><LF>.<LF>" or other variant can end
// the data here while a later server would see it end (SMTP smuggling).
// A CR not followed by LF is kept as it is; a leading "." of a line is
// removed (RFC 5321 4.5.2); CR LF becomes LF, as the queue wants it.
//
// The decoded message then passes the header checks: lines starting with
// "Received" or "Delivered" in the header count as hops (qmail refuses 100
// or more: a mail loop); a header line longer than kMaxHeaderLine makes the
// message refused (qmail-local would bounce it); with strip_authuser,
// X-AuthUser fields (and their continuation lines) in the client's header
// are dropped, so the one qmail-smtpd adds for the authenticated user is
// the only one. Past `databytes` (0: no limit) nothing more is written out,
// but the data is still read to its end.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/str.hpp"

namespace qbox::smtp {

inline constexpr unsigned kMaxHops = 100;
inline constexpr std::size_t kMaxHeaderLine = 1u << 20;

class DataReader {
 public:
  enum class Status {
    kMore,    // everything given was used; more data please
    kEnd,     // the end of data was seen
    kBareLf,  // a bare LF: the session must end (451)
  };

  explicit DataReader(std::uint64_t databytes = 0, bool strip_authuser = false)
      : databytes_(databytes), strip_authuser_(strip_authuser) {}

  // Reads client bytes, appending the decoded message to out. `used` says
  // how many bytes of `in` were taken: all of them for kMore, up to and
  // including the final LF for kEnd (the rest is the next command), up to
  // the bare LF for kBareLf.
  Status feed(std::string_view in, std::size_t& used, Str& out);

  unsigned hops() const { return hops_; }
  bool too_many_hops() const { return hops_ >= kMaxHops; }
  // The message had more than databytes bytes (after decoding).
  bool too_big() const { return databytes_ && bytes_ > databytes_; }
  bool header_line_too_long() const { return long_header_; }
  // Bytes of the decoded message (counted past the limit too).
  std::uint64_t bytes() const { return bytes_; }

 private:
  void emit(char c, Str& out);
  void header_byte(char c, Str& out);
  void body_byte(char c, Str& out);

  // SMTP decoding: where the last bytes leave us (qmail's states).
  enum class Dot { kText, kLineStart, kDot, kDotCr, kCr };
  Dot dot_ = Dot::kLineStart;

  // Header tracking on the decoded bytes.
  bool in_header_ = true;
  std::size_t line_len_ = 0;     // bytes of the current header line so far
  bool maybe_received_ = true;   // the line may still start with "received"
  bool maybe_delivered_ = true;  // ... with "delivered"
  // X-AuthUser removal: the start of a line held back while it may name
  // that field; dropping_ while inside such a field.
  char held_[16];
  std::size_t nheld_ = 0;
  bool maybe_authuser_ = false;
  bool dropping_ = false;

  unsigned hops_ = 0;
  bool long_header_ = false;
  std::uint64_t databytes_;
  std::uint64_t bytes_ = 0;
  bool strip_authuser_;
};

}  // namespace qbox::smtp
