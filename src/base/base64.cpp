#include "base/base64.hpp"

#include <cstdint>

namespace qbox {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

void base64_encode(std::string_view in, Str& out) {
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16 |
                      static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8 |
                      static_cast<unsigned char>(in[i + 2]);
    out.push(kAlphabet[v >> 18]);
    out.push(kAlphabet[(v >> 12) & 63]);
    out.push(kAlphabet[(v >> 6) & 63]);
    out.push(kAlphabet[v & 63]);
  }
  std::size_t left = in.size() - i;
  if (left == 0) return;
  std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
  if (left == 2) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
  out.push(kAlphabet[v >> 18]);
  out.push(kAlphabet[(v >> 12) & 63]);
  out.push(left == 2 ? kAlphabet[(v >> 6) & 63] : '=');
  out.push('=');
}

bool base64_decode(std::string_view in, Str& out) {
  // Padding: up to two '=' at the very end, and only where they complete
  // a group of four.
  std::size_t pad = 0;
  while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
  std::string_view body = in.substr(0, in.size() - pad);
  if (pad && (body.size() + pad) % 4 != 0) return false;
  // All the room at once: growing would leave copies of what is decoded
  // (keys, passwords) behind in freed memory.
  out.reserve(body.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : body) {
    int v = value_of(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // One character alone cannot carry a byte.
  return body.size() % 4 != 1;
}

}  // namespace qbox
