// libFuzzer target for the DNS packet parser (src/dns/packet, src/dns/name).
// Build and run: ninja fuzz && build/fuzz/dns_packet -max_total_time=300
//
// The input is taken as a reply. The question is read from the packet
// itself, so that check_reply's echo check passes as often as not and the
// answer section gets parsed for every record type the resolver asks for.
// Besides "no crash, no sanitizer report", it checks what the parser
// promises: record counts and sizes within bounds, decoded data that fits
// its type, and names that survive a round trip through their text form.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dns/name.hpp"
#include "dns/packet.hpp"

using namespace qbox;
using namespace qbox::dns;

static void require(bool ok) {
  if (!ok) __builtin_trap();
}

static void check_name(const Name& n) {
  require(n.n >= 1 && n.n <= kMaxName && n.b[n.n - 1] == 0);
  Str text;
  name_to_text(n, text);
  Name back;
  require(name_from_text(text, back));
  require(name_equal(n, back));
}

static void check_records(const std::vector<Record>& out, uint16_t type, std::size_t size) {
  require(out.size() <= kMaxRecords);
  for (const Record& r : out) {
    require(r.type == type);
    require(r.data.size() <= size);
    Name n;
    switch (type) {
      case kTypeA: require(r.data.size() == 4); break;
      case kTypeAaaa: require(r.data.size() == 16); break;
      case kTypeMx:
      case kTypePtr:
      case kTypeCname: {
        std::size_t at = type == kTypeMx ? 2 : 0;
        require(r.data.size() > at && r.data.size() - at <= kMaxName);
        n.n = r.data.size() - at;
        for (std::size_t i = 0; i < n.n; ++i) n.b[i] = r.data[at + i];
        check_name(n);
        break;
      }
      default: break;
    }
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view pkt(reinterpret_cast<const char*>(data), size);

  Name q;
  uint16_t id = 0, qtype = kTypeA;
  if (size >= kHeaderSize) {
    id = static_cast<uint16_t>(data[0] << 8 | data[1]);
    std::size_t pos = read_name(pkt, kHeaderSize, q);
    if (pos) {
      require(pos <= size);
      check_name(q);
      if (size - pos >= 2) qtype = static_cast<uint16_t>(data[pos] << 8 | data[pos + 1]);
    }
  }
  if (!q.n) name_from_text("example.com", q);

  check_reply(pkt, id, q, qtype);
  static const uint16_t types[] = {kTypeA, kTypeAaaa, kTypeMx, kTypeTxt, kTypePtr, kTypeCname};
  std::vector<Record> out;
  Name canon;
  for (uint16_t t : types) {
    check_reply(pkt, id, q, t);
    Status st = parse_answer(pkt, q, t, out, &canon);
    if (st == Status::ok) {
      require(!out.empty());
      check_records(out, t, size);
      check_name(canon);
    } else {
      require(out.empty());
    }
  }

  // Names anywhere in the packet, and the packet read as a name in text.
  for (std::size_t off = 0; off < size && off < 64; ++off) {
    Name n;
    std::size_t after = read_name(pkt, off, n);
    if (after) {
      require(after > off && after <= size);
      check_name(n);
    }
  }
  Name t;
  if (name_from_text(pkt, t)) check_name(t);
  return 0;
}
