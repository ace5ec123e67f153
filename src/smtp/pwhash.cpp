#include "smtp/pwhash.hpp"

#include <bearssl.h>

#include <cstdint>
#include <cstring>

#include "base/num.hpp"

namespace qbox::smtp {

namespace {

constexpr char kItoa64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void to64(Str& out, std::uint32_t v, int n) {
  while (n-- > 0) {
    out.push(kItoa64[v & 0x3f]);
    v >>= 6;
  }
}

void put24(Str& out, const unsigned char* d, int b2, int b1, int b0, int n) {
  to64(out, static_cast<std::uint32_t>(d[b2]) << 16 | static_cast<std::uint32_t>(d[b1]) << 8 | d[b0], n);
}

// A running hash of one of BearSSL's classes.
class Hash {
 public:
  explicit Hash(const br_hash_class* vt) : vt_(vt) { vt_->init(&ctx_.vtable); }
  void add(const void* p, std::size_t n) { vt_->update(&ctx_.vtable, p, n); }
  void add(std::string_view s) { add(s.data(), s.size()); }
  void out(unsigned char* d) { vt_->out(&ctx_.vtable, d); }
  ~Hash() { std::memset(&ctx_, 0, sizeof ctx_); }

 private:
  const br_hash_class* vt_;
  br_hash_compat_context ctx_;
};

std::string_view take_salt(std::string_view s, std::size_t max) {
  std::size_t end = s.find('$');
  if (end == std::string_view::npos) end = s.size();
  return s.substr(0, end < max ? end : max);
}

void md5_crypt(std::string_view pw, std::string_view setting, Str& out) {
  std::string_view magic = "$1$";
  std::string_view salt = take_salt(setting.substr(magic.size()), 8);
  unsigned char fin[16];
  {
    Hash alt(&br_md5_vtable);
    alt.add(pw);
    alt.add(salt);
    alt.add(pw);
    alt.out(fin);
  }
  Hash ctx(&br_md5_vtable);
  ctx.add(pw);
  ctx.add(magic);
  ctx.add(salt);
  for (std::size_t left = pw.size(); left > 0; left -= left > 16 ? 16 : left) ctx.add(fin, left > 16 ? 16 : left);
  std::memset(fin, 0, sizeof fin);
  // The odd part of the algorithm: a NUL or the first character of the
  // password for each bit of its length.
  for (std::size_t i = pw.size(); i; i >>= 1) {
    if (i & 1) ctx.add(fin, 1);
    else ctx.add(pw.data(), 1);
  }
  ctx.out(fin);
  for (int i = 0; i < 1000; ++i) {
    Hash c(&br_md5_vtable);
    if (i & 1) c.add(pw);
    else c.add(fin, 16);
    if (i % 3) c.add(salt);
    if (i % 7) c.add(pw);
    if (i & 1) c.add(fin, 16);
    else c.add(pw);
    c.out(fin);
  }
  out.append(magic);
  out.append(salt);
  out.push('$');
  put24(out, fin, 0, 6, 12, 4);
  put24(out, fin, 1, 7, 13, 4);
  put24(out, fin, 2, 8, 14, 4);
  put24(out, fin, 3, 9, 15, 4);
  put24(out, fin, 4, 10, 5, 4);
  to64(out, fin[11], 2);
  std::memset(fin, 0, sizeof fin);
}

// Adds `len` bytes of the repeated block (of `size` bytes).
void add_repeated(Hash& h, const unsigned char* block, std::size_t size, std::size_t len) {
  for (; len > size; len -= size) h.add(block, size);
  h.add(block, len);
}

constexpr unsigned long long kRoundsDefault = 5000, kRoundsMin = 1000, kRoundsMax = 999999999;

bool sha_crypt(std::string_view pw, std::string_view setting, bool is512, Str& out) {
  const br_hash_class* vt = is512 ? &br_sha512_vtable : &br_sha256_vtable;
  const std::size_t dlen = is512 ? 64 : 32;
  std::string_view rest = setting.substr(3);
  unsigned long long rounds = kRoundsDefault;
  bool custom = false;
  if (rest.starts_with("rounds=")) {
    std::size_t end = rest.find('$');
    if (end == std::string_view::npos) return false;
    Scanned n = scan_num(rest.substr(7, end - 7));
    if (n.used != end - 7 || n.used == 0) return false;
    // Out of range is refused, as libxcrypt and musl do (old glibc clamped).
    if (n.overflow || n.value < kRoundsMin || n.value > kRoundsMax) return false;
    rounds = n.value;
    custom = true;
    rest.remove_prefix(end + 1);
  }
  std::string_view salt = take_salt(rest, 16);

  unsigned char a[64], b[64], dp[64], ds[64];
  {
    Hash h(vt);
    h.add(pw);
    h.add(salt);
    h.add(pw);
    h.out(b);
  }
  {
    Hash h(vt);
    h.add(pw);
    h.add(salt);
    add_repeated(h, b, dlen, pw.size());
    for (std::size_t n = pw.size(); n > 0; n >>= 1) {
      if (n & 1) h.add(b, dlen);
      else h.add(pw);
    }
    h.out(a);
  }
  {
    Hash h(vt);
    for (std::size_t i = 0; i < pw.size(); ++i) h.add(pw);
    h.out(dp);
  }
  {
    Hash h(vt);
    for (std::size_t i = 0; i < 16u + a[0]; ++i) h.add(salt);
    h.out(ds);
  }
  // P and S: the digests stretched to the length of the password and salt.
  Str p, s;
  for (std::size_t i = 0; i < pw.size(); ++i) p.push(static_cast<char>(dp[i % dlen]));
  for (std::size_t i = 0; i < salt.size(); ++i) s.push(static_cast<char>(ds[i % dlen]));
  unsigned char c[64];
  std::memcpy(c, a, dlen);
  for (unsigned long long i = 0; i < rounds; ++i) {
    Hash h(vt);
    if (i & 1) h.add(p.view());
    else h.add(c, dlen);
    if (i % 3) h.add(s.view());
    if (i % 7) h.add(p.view());
    if (i & 1) h.add(c, dlen);
    else h.add(p.view());
    h.out(c);
  }
  out.append(is512 ? "$6$" : "$5$");
  if (custom) {
    char num[kNumDigits];
    out.append("rounds=");
    out.append(fmt_num(num, rounds));
    out.push('$');
  }
  out.append(salt);
  out.push('$');
  if (is512) {
    static constexpr unsigned char kOrder[21][3] = {
        {0, 21, 42},  {22, 43, 1},  {44, 2, 23},  {3, 24, 45},  {25, 46, 4},  {47, 5, 26},  {6, 27, 48},
        {28, 49, 7},  {50, 8, 29},  {9, 30, 51},  {31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13},
        {56, 14, 35}, {15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41}};
    for (auto& g : kOrder) put24(out, c, g[0], g[1], g[2], 4);
    to64(out, c[63], 2);
  } else {
    static constexpr unsigned char kOrder[10][3] = {{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23},
                                                    {24, 4, 14}, {15, 25, 5}, {6, 16, 26}, {27, 7, 17},
                                                    {18, 28, 8}, {9, 19, 29}};
    for (auto& g : kOrder) put24(out, c, g[0], g[1], g[2], 4);
    to64(out, static_cast<std::uint32_t>(c[31]) << 8 | c[30], 3);
  }
  for (unsigned char* buf : {a, b, c, dp, ds}) std::memset(buf, 0, 64);
  std::memset(p.data(), 0, p.size());
  return true;
}

}  // namespace

bool pw_crypt(std::string_view password, std::string_view setting, Str& out) {
  if (setting.starts_with("$1$")) {
    md5_crypt(password, setting, out);
    return true;
  }
  if (setting.starts_with("$5$")) return sha_crypt(password, setting, false, out);
  if (setting.starts_with("$6$")) return sha_crypt(password, setting, true, out);
  return false;
}

}  // namespace qbox::smtp
