// Byte-stream conversions of the ucspi-tcp programs and scripts, each a
// sink that converts the bytes put into it and puts the result into the
// next sink (a Writer, or another conversion), keeping its state across
// chunks. finish() ends the stream (a conversion may hold a byte back).
//
//   Writer out(1, buf);
//   ShowNonprinting<Writer> vis(out);   // ... | cat -v
//   DelCr<ShowNonprinting<Writer>> del(vis);   // delcr | cat -v
//   for (char c : chunk) del.put(c);
//   del.finish();
//
// The results of put() are ignored, as the classic filters ignore them
// until the next flush: a sink reports a failure when it is flushed.
#pragma once
#include <string_view>

#include "base/str.hpp"
#include "io/buffer.hpp"

namespace qbox {

// Ends the stream in `next` too, when it is a conversion (a Writer is
// flushed by its owner).
template <class Sink>
void finish_next(Sink& next) {
  if constexpr (requires { next.finish(); }) next.finish();
}

// Sinks for the end of a chain: a Writer chosen later (run_filter makes
// its own), and a Str.
struct WriterRef {
  Writer* w = nullptr;
  void put(char c) { w->put(c); }
};
struct StrSink {
  Str& s;
  void put(char c) { s.push(c); }
};

// addcr: a CR before every LF.
template <class Sink>
class AddCr {
 public:
  explicit AddCr(Sink& next) : next_(next) {}
  void put(char c) {
    if (c == '\n') next_.put('\r');
    next_.put(c);
  }
  void put(std::string_view s) { for (char c : s) put(c); }
  void finish() { finish_next(next_); }

 private:
  Sink& next_;
};

// delcr: the CR of every CR LF removed. A CR followed by anything else, or
// at the end of the stream, stays.
template <class Sink>
class DelCr {
 public:
  explicit DelCr(Sink& next) : next_(next) {}
  void put(char c) {
    if (cr_ && c != '\n') next_.put('\r');
    cr_ = c == '\r';
    if (!cr_) next_.put(c);
  }
  void put(std::string_view s) { for (char c : s) put(c); }
  void finish() {
    if (cr_) next_.put('\r');
    cr_ = false;
    finish_next(next_);
  }

 private:
  Sink& next_;
  bool cr_ = false;
};

// cat -v (GNU's notation): a control byte as ^X (DEL as ^?), TAB and LF
// as they are, and a byte with the high bit set as M- and the same for the
// byte without it (M-a, M-^A, M-^?).
template <class Sink>
class ShowNonprinting {
 public:
  explicit ShowNonprinting(Sink& next) : next_(next) {}
  void put(char ch) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 128) {
      next_.put('M');
      next_.put('-');
      c = static_cast<unsigned char>(c - 128);
    } else if (c == '\t' || c == '\n') {
      next_.put(ch);
      return;
    }
    if (c < 32) {
      next_.put('^');
      next_.put(static_cast<char>(c + 64));
    } else if (c == 127) {
      next_.put('^');
      next_.put('?');
    } else {
      next_.put(static_cast<char>(c));
    }
  }
  void put(std::string_view s) { for (char c : s) put(c); }
  void finish() { finish_next(next_); }

 private:
  Sink& next_;
};

// What http@'s awk program prints: the lines after the first empty line,
// skipping every empty line (awk '/^$/ { body=1; next } { if (body) print }').
// A last line without its LF gets one, as awk's print adds it.
template <class Sink>
class BodyLines {
 public:
  explicit BodyLines(Sink& next) : next_(next) {}
  void put(char c) {
    if (c == '\n') {
      if (!in_line_) body_ = true;
      else if (body_) next_.put('\n');
      in_line_ = false;
      return;
    }
    in_line_ = true;
    if (body_) next_.put(c);
  }
  void put(std::string_view s) { for (char c : s) put(c); }
  void finish() {
    if (in_line_ && body_) next_.put('\n');
    in_line_ = false;
    finish_next(next_);
  }

 private:
  Sink& next_;
  bool body_ = false;
  bool in_line_ = false;
};

}  // namespace qbox
