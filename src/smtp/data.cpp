#include "smtp/data.hpp"

namespace qbox::smtp {

namespace {

constexpr std::string_view kAuthUser = "x-authuser";

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

}  // namespace

void DataReader::emit(char c, Str& out) {
  ++bytes_;
  // Past a limit the message is refused anyway: keep reading, stop writing.
  if (too_big() || long_header_) return;
  out.push(c);
}

void DataReader::body_byte(char c, Str& out) { emit(c, out); }

void DataReader::header_byte(char c, Str& out) {
  bool line_start = line_len_ == 0;
  if (line_start && c == '\n') {
    // The empty line: the body follows.
    in_header_ = false;
    emit(c, out);
    return;
  }
  // Hops, as qmail counts them: lines starting with these words.
  if (line_len_ < 9) {
    if (lower(c) != "delivered"[line_len_]) maybe_delivered_ = false;
    if (maybe_delivered_ && line_len_ == 8) ++hops_;
    if (line_len_ < 8 && lower(c) != "received"[line_len_]) maybe_received_ = false;
    if (maybe_received_ && line_len_ == 7) ++hops_;
  }
  if (++line_len_ > kMaxHeaderLine) long_header_ = true;
  if (c == '\n') {
    line_len_ = 0;
    maybe_received_ = maybe_delivered_ = true;
  }

  if (!strip_authuser_) {
    emit(c, out);
    return;
  }
  if (line_start) {
    bool continuation = c == ' ' || c == '\t';
    if (!continuation) {
      dropping_ = false;
      maybe_authuser_ = true;
      nheld_ = 0;
    }
  }
  if (dropping_) return;
  if (maybe_authuser_) {
    std::size_t pos = nheld_;
    held_[nheld_++] = c;
    bool keep_holding;
    if (pos < kAuthUser.size()) {
      keep_holding = lower(c) == kAuthUser[pos];
    } else if (c == ':') {
      // "X-AuthUser:" (blanks allowed before the colon, as in qmail's
      // hfield): the client's field is dropped with its continuations.
      dropping_ = true;
      maybe_authuser_ = false;
      nheld_ = 0;
      return;
    } else {
      keep_holding = (c == ' ' || c == '\t') && nheld_ < sizeof held_;
    }
    if (keep_holding) return;
    maybe_authuser_ = false;
    for (std::size_t i = 0; i < nheld_; ++i) emit(held_[i], out);
    nheld_ = 0;
    return;
  }
  emit(c, out);
}

DataReader::Status DataReader::feed(std::string_view in, std::size_t& used, Str& out) {
  auto put = [&](char c) {
    if (in_header_) header_byte(c, out);
    else body_byte(c, out);
  };
  for (std::size_t i = 0; i < in.size(); ++i) {
    char ch = in[i];
    switch (dot_) {
      case Dot::kText:
        if (ch == '\n') { used = i; return Status::kBareLf; }
        if (ch == '\r') { dot_ = Dot::kCr; continue; }
        break;
      case Dot::kLineStart:  // after CR LF
        if (ch == '\n') { used = i; return Status::kBareLf; }
        if (ch == '.') { dot_ = Dot::kDot; continue; }
        if (ch == '\r') { dot_ = Dot::kCr; continue; }
        dot_ = Dot::kText;
        break;
      case Dot::kDot:  // CR LF "."
        if (ch == '\n') { used = i; return Status::kBareLf; }
        if (ch == '\r') { dot_ = Dot::kDotCr; continue; }
        dot_ = Dot::kText;  // the leading dot is dropped
        break;
      case Dot::kDotCr:  // CR LF "." CR
        if (ch == '\n') {
          used = i + 1;
          // A held-back line start that never became an X-AuthUser field.
          if (maybe_authuser_)
            for (std::size_t k = 0; k < nheld_; ++k) emit(held_[k], out);
          maybe_authuser_ = false;
          nheld_ = 0;
          return Status::kEnd;
        }
        put('.');
        put('\r');
        if (ch == '\r') { dot_ = Dot::kCr; continue; }
        dot_ = Dot::kText;
        break;
      case Dot::kCr:  // a CR, its meaning unknown until the next byte
        if (ch == '\n') {
          dot_ = Dot::kLineStart;
        } else if (ch != '\r') {
          put('\r');
          dot_ = Dot::kText;
        }
        break;
    }
    put(ch);
  }
  used = in.size();
  return Status::kMore;
}

}  // namespace qbox::smtp
