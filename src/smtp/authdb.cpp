#include "smtp/authdb.hpp"

#include <bearssl.h>

#include <cstring>

#include "dns/random.hpp"
#include "smtp/pwhash.hpp"

namespace qbox::smtp {

namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kCryptChars[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool crypt_char(char c) { return c && std::strchr(kCryptChars, c) != nullptr; }

bool all_crypt_chars(std::string_view s) {
  for (char c : s)
    if (!crypt_char(c)) return false;
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The two MD5 states of an HMAC-MD5 key, outer first (see the header).
void hmac_states(std::string_view key, unsigned char states[32]) {
  unsigned char block[64] = {};
  if (key.size() > sizeof block) {
    br_md5_context h;
    br_md5_init(&h);
    br_md5_update(&h, key.data(), key.size());
    br_md5_out(&h, block);
  } else {
    std::memcpy(block, key.data(), key.size());
  }
  unsigned char pad[64];
  for (int outer = 1; outer >= 0; --outer) {
    for (std::size_t i = 0; i < sizeof pad; ++i) pad[i] = block[i] ^ (outer ? 0x5c : 0x36);
    br_md5_context h;
    br_md5_init(&h);
    br_md5_update(&h, pad, sizeof pad);
    br_md5_state(&h, states + (outer ? 0 : 16));
  }
  std::memset(block, 0, sizeof block);
  std::memset(pad, 0, sizeof pad);
}

}  // namespace

bool is_crypt_hash(std::string_view s) {
  std::size_t hash_len;
  std::size_t salt_max;
  bool rounds_ok;
  if (s.starts_with("$1$")) {
    hash_len = 22, salt_max = 8, rounds_ok = false;
  } else if (s.starts_with("$5$")) {
    hash_len = 43, salt_max = 16, rounds_ok = true;
  } else if (s.starts_with("$6$")) {
    hash_len = 86, salt_max = 16, rounds_ok = true;
  } else {
    return false;
  }
  s.remove_prefix(3);
  if (rounds_ok && s.starts_with("rounds=")) {
    std::size_t end = s.find('$');
    if (end == std::string_view::npos || end == 7) return false;
    for (std::size_t i = 7; i < end; ++i)
      if (s[i] < '0' || s[i] > '9') return false;
    s.remove_prefix(end + 1);
  }
  std::size_t dollar = s.find('$');
  if (dollar == std::string_view::npos || dollar > salt_max) return false;
  std::string_view salt = s.substr(0, dollar), hash = s.substr(dollar + 1);
  return all_crypt_chars(salt) && hash.size() == hash_len && all_crypt_chars(hash);
}

bool is_cram_secret(std::string_view s) {
  if (s.size() != kCramSecretLen || !s.starts_with(kCramPrefix)) return false;
  for (char c : s.substr(kCramPrefix.size()))
    if (hex_value(c) < 0) return false;
  return true;
}

int crypt_check(std::string_view password, std::string_view hash) {
  if (password.find('\0') != std::string_view::npos) return 0;  // crypt() would see less
  Str computed;
  if (!pw_crypt(password, hash, computed)) return -1;
  int r = equal_ct(computed.view(), hash) ? 1 : 0;
  std::memset(computed.data(), 0, computed.size());
  return r;
}

bool crypt_sha512(std::string_view password, Str& out) {
  unsigned char rnd[16];
  if (!dns::random_bytes(rnd, sizeof rnd)) return false;
  Str setting("$6$");
  for (unsigned char b : rnd) setting.push(kCryptChars[b & 63]);  // 64 symbols: uniform
  setting.push('$');
  return pw_crypt(password, setting.view(), out);
}

void cram_secret(std::string_view password, Str& out) {
  unsigned char states[32];
  hmac_states(password, states);
  out.append(kCramPrefix);
  for (unsigned char b : states) {
    out.push(kHex[b >> 4]);
    out.push(kHex[b & 15]);
  }
  std::memset(states, 0, sizeof states);
}

bool cram_digest(std::string_view secret, std::string_view challenge, char hex[32]) {
  if (!is_cram_secret(secret)) return false;
  unsigned char states[32];
  std::string_view h = secret.substr(kCramPrefix.size());
  for (std::size_t i = 0; i < sizeof states; ++i)
    states[i] = static_cast<unsigned char>(hex_value(h[2 * i]) << 4 | hex_value(h[2 * i + 1]));
  unsigned char inner[16], digest[16];
  br_md5_context c;
  br_md5_init(&c);
  br_md5_set_state(&c, states + 16, 64);
  br_md5_update(&c, challenge.data(), challenge.size());
  br_md5_out(&c, inner);
  br_md5_init(&c);
  br_md5_set_state(&c, states, 64);
  br_md5_update(&c, inner, sizeof inner);
  br_md5_out(&c, digest);
  for (std::size_t i = 0; i < sizeof digest; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 15];
  }
  std::memset(states, 0, sizeof states);
  return true;
}

bool equal_ct(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool parse_auth_record(std::string_view value, AuthRecord& out) {
  std::size_t nl = value.find('\n');
  out.hash = value.substr(0, nl);
  out.cram = nl == std::string_view::npos ? std::string_view() : value.substr(nl + 1);
  if (!is_crypt_hash(out.hash)) return false;
  return out.cram.empty() ? nl == std::string_view::npos : is_cram_secret(out.cram);
}

}  // namespace qbox::smtp
