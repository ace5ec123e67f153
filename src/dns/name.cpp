#include "dns/name.hpp"

#include <cstring>

namespace qbox::dns {

static unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
static bool is_octal(char c) { return c >= '0' && c <= '7'; }

// lax: as djb's dns_domain_fromdot (see name_from_dot).
static bool from_text(std::string_view t, Name& out, bool lax) {
  out.n = 0;
  if (t == ".") t = {};
  char* b = out.b;
  std::size_t n = 1;         // b[0] is kept for the first label's length
  std::size_t label_at = 0;  // where the current label's length goes
  std::size_t len = 0;
  std::size_t i = 0;
  while (i < t.size()) {
    unsigned c = static_cast<unsigned char>(t[i++]);
    if (c == '.') {
      if (len == 0) {  // empty label
        if (lax) continue;
        return false;
      }
      if (n >= kMaxName) return false;
      b[label_at] = static_cast<char>(len);
      label_at = n++;
      len = 0;
      continue;
    }
    if (c == '\\') {
      if (i == t.size()) {
        if (lax) break;
        return false;
      }
      c = static_cast<unsigned char>(t[i++]);
      if (is_octal(static_cast<char>(c))) {
        c -= '0';
        for (int k = 0; k < 2 && i < t.size() && is_octal(t[i]); ++k) c = c * 8 + (t[i++] - '0');
        if (c > 255) {
          if (!lax) return false;
          c &= 255;
        }
      }
    }
    if (len == kMaxLabel || n >= kMaxName) return false;
    b[n++] = static_cast<char>(c);
    ++len;
  }
  if (len) {  // no trailing dot: close the last label, then the root
    if (n >= kMaxName) return false;
    b[label_at] = static_cast<char>(len);
    b[n++] = 0;
  } else {    // "" or a trailing dot: the byte kept is the root label
    b[label_at] = 0;
  }
  out.n = n;
  return true;
}

bool name_from_text(std::string_view t, Name& out) { return from_text(t, out, false); }
bool name_from_dot(std::string_view t, Name& out) { return from_text(t, out, true); }

void name_to_text(const Name& name, Str& out) {
  std::size_t i = 0;
  bool first = true;
  while (i < name.n) {
    std::size_t len = static_cast<unsigned char>(name.b[i++]);
    if (len == 0) break;
    if (!first) out.push('.');
    first = false;
    for (std::size_t k = 0; k < len && i < name.n; ++k) {
      unsigned char c = lower(static_cast<unsigned char>(name.b[i++]));
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
        out.push(static_cast<char>(c));
      } else {
        char e[4] = {'\\', static_cast<char>('0' + (c >> 6)), static_cast<char>('0' + ((c >> 3) & 7)),
                     static_cast<char>('0' + (c & 7))};
        out.append(e, 4);
      }
    }
  }
  if (first) out.push('.');
}

bool name_equal(const Name& a, const Name& b) {
  if (a.n != b.n) return false;
  // Length bytes are at most 63, below 'A', so lowering every byte is safe.
  for (std::size_t i = 0; i < a.n; ++i)
    if (lower(static_cast<unsigned char>(a.b[i])) != lower(static_cast<unsigned char>(b.b[i]))) return false;
  return true;
}

std::size_t read_name(std::string_view pkt, std::size_t pos, Name& out) {
  out.n = 0;
  std::size_t n = 0;
  std::size_t after = 0;   // where the name ends at `pos`; set at the first pointer or the root
  std::size_t limit = pos; // a pointer must point before this
  std::size_t p = pos;
  unsigned jumps = 0;      // a real name has at most 127 labels, so as many jumps
  for (;;) {
    if (p >= pkt.size()) return 0;
    unsigned c = static_cast<unsigned char>(pkt[p]);
    if (c >= 0xc0) {
      if (p + 1 >= pkt.size()) return 0;
      std::size_t target = ((c & 0x3f) << 8) | static_cast<unsigned char>(pkt[p + 1]);
      if (!after) after = p + 2;
      if (target >= limit || ++jumps > 127) return 0;
      limit = p = target;
      continue;
    }
    if (c > kMaxLabel) return 0;  // 0x40 and 0x80: label types nobody uses
    if (c + 1 > pkt.size() - p) return 0;
    if (n + 1 + c > kMaxName) return 0;
    std::memcpy(out.b + n, pkt.data() + p, c + 1);
    n += c + 1;
    p += c + 1;
    if (c == 0) {
      out.n = n;
      return after ? after : p;
    }
  }
}

// Appends one label to a name being built (the callers stay far below 255).
static void add_label(Name& out, std::string_view label) {
  out.b[out.n++] = static_cast<char>(label.size());
  std::memcpy(out.b + out.n, label.data(), label.size());
  out.n += label.size();
}

void reverse_name4(const uint8_t ip[4], Name& out) {
  out.n = 0;
  for (int i = 3; i >= 0; --i) {
    char d[3];
    std::size_t k = 0;
    unsigned v = ip[i];
    if (v >= 100) d[k++] = static_cast<char>('0' + v / 100);
    if (v >= 10) d[k++] = static_cast<char>('0' + v / 10 % 10);
    d[k++] = static_cast<char>('0' + v % 10);
    add_label(out, {d, k});
  }
  add_label(out, "in-addr");
  add_label(out, "arpa");
  out.b[out.n++] = 0;
}

void reverse_name6(const uint8_t ip[16], Name& out) {
  static const char hex[] = "0123456789abcdef";
  out.n = 0;
  for (int i = 15; i >= 0; --i) {
    add_label(out, {hex + (ip[i] & 15), 1});
    add_label(out, {hex + (ip[i] >> 4), 1});
  }
  add_label(out, "ip6");
  add_label(out, "arpa");
  out.b[out.n++] = 0;
}

}  // namespace qbox::dns
