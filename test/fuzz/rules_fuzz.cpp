// libFuzzer target for the tcprules parser and the rules lookup.
//   ninja build/fuzz/rules_fuzz && build/fuzz/rules_fuzz -max_total_time=600
// The input is a rules source: every line is compiled, and what comes out
// is checked (keys bounded, values well formed). The same bytes, cut at
// NULs, are also used as IP, host and info for the lookup order, and as
// addresses for the IPv4/IPv6 parsers, which must read back what they write.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "net/ip.hpp"
#include "net/rules.hpp"

using namespace qbox;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

class CheckSink final : public rules::Sink {
 public:
  explicit CheckSink(std::size_t n) : line_size(n) {}
  std::size_t line_size;
  std::size_t records = 0;
  int add(std::string_view key, std::string_view value) override {
    ++records;
    // A value is "D\0" or nothing, then "+VAR=value\0" items (which may
    // hold more NULs of their own): it starts with D or + and ends in a NUL.
    check(value.empty() || ((value[0] == 'D' || value[0] == '+') && value.back() == '\0'));
    check(key.size() <= 3 * line_size + 40);
    return 0;
  }
};

int count_keys(void* ctx, std::string_view) {
  ++*static_cast<std::size_t*>(ctx);
  return 0;
}

void ip_roundtrip(std::string_view s) {
  uint8_t ip[16], again[16];
  char buf[net::kIp6Fmt];
  if (net::parse_ip6(s, ip)) {
    std::size_t n = net::fmt_ip6(buf, ip);
    check(n <= net::kIp6Fmt);
    check(net::parse_ip6({buf, n}, again) && std::memcmp(ip, again, 16) == 0);
    n = net::fmt_ip6_full(buf, ip);
    check(net::parse_ip6({buf, n}, again) && std::memcmp(ip, again, 16) == 0);
  }
  uint8_t v4[4], v4again[4];
  if (net::parse_ip4(s, v4)) {
    std::size_t n = net::fmt_ip4(buf, v4);
    check(net::parse_ip4({buf, n}, v4again) && std::memcmp(v4, v4again, 4) == 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view src(reinterpret_cast<const char*>(data), size);

  std::string_view rest = src;
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl == std::string_view::npos ? rest.size() : nl + 1);
    rest.remove_prefix(line.size());
    CheckSink sink(line.size());
    rules::LineStatus st = rules::compile_line(line, sink);
    check(sink.records <= 256);
    if (st != rules::LineStatus::kRule) check(sink.records == 0);
    if (st == rules::LineStatus::kBad) check(rules::shown_line(line).size() <= line.size());
  }

  // IP, host and info for the lookup order; each piece for the parsers.
  std::string_view parts[3];
  rest = src;
  for (auto& p : parts) {
    std::size_t z = rest.find('\0');
    p = rest.substr(0, z);
    rest = z == std::string_view::npos ? std::string_view() : rest.substr(z + 1);
    ip_roundtrip(p);
  }
  std::size_t keys = 0;
  rules::Peer peer{parts[0], parts[1], parts[2]};
  check(rules::for_each_key(peer, count_keys, &keys) == 0);
  check(keys <= 8 + parts[0].size() + parts[1].size() + 32);
  return 0;
}
