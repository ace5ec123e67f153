#include "dns/packet.hpp"

#include <utility>

namespace qbox::dns {

static unsigned get16(std::string_view p, std::size_t pos) {
  return static_cast<unsigned>(static_cast<unsigned char>(p[pos])) << 8 | static_cast<unsigned char>(p[pos + 1]);
}

static void put16(Str& out, unsigned v) {
  out.push(static_cast<char>(v >> 8));
  out.push(static_cast<char>(v & 0xff));
}

void build_query(Str& out, uint16_t id, const Name& name, uint16_t type) {
  put16(out, id);
  out.push(0x01);  // QR 0, opcode QUERY, RD
  out.push(0x00);
  put16(out, 1);   // one question, no other records
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  out.append(name.view());
  put16(out, type);
  put16(out, kClassIn);
}

namespace {

// The fixed part of a resource record, with where its data lies.
struct Rr {
  Name owner;
  unsigned type = 0, cls = 0;
  std::size_t rdata = 0, rdlen = 0;
};

// Reads the record at pos; returns the position after it, or 0.
std::size_t read_rr(std::string_view pkt, std::size_t pos, Rr& rr) {
  pos = read_name(pkt, pos, rr.owner);
  if (!pos || pkt.size() - pos < 10) return 0;
  rr.type = get16(pkt, pos);
  rr.cls = get16(pkt, pos + 2);
  rr.rdlen = get16(pkt, pos + 8);
  rr.rdata = pos + 10;
  if (rr.rdlen > pkt.size() - rr.rdata) return 0;
  return rr.rdata + rr.rdlen;
}

// Reads a name that must lie within [pos, end) of the packet (its pointers
// may lead anywhere before it).
bool read_name_within(std::string_view pkt, std::size_t pos, std::size_t end, Name& out) {
  std::size_t after = read_name(pkt, pos, out);
  return after && after <= end;
}

bool decode(std::string_view pkt, const Rr& rr, Record& rec) {
  rec.type = static_cast<uint16_t>(rr.type);
  rec.data.clear();
  std::string_view rd = pkt.substr(rr.rdata, rr.rdlen);
  std::size_t end = rr.rdata + rr.rdlen;
  Name name;
  switch (rr.type) {
    case kTypeA:
      if (rd.size() != 4) return false;
      rec.data = rd;
      return true;
    case kTypeAaaa:
      if (rd.size() != 16) return false;
      rec.data = rd;
      return true;
    case kTypeCname:
    case kTypePtr:
      if (!read_name_within(pkt, rr.rdata, end, name)) return false;
      rec.data = name.view();
      return true;
    case kTypeMx:
      if (rd.size() < 3 || !read_name_within(pkt, rr.rdata + 2, end, name)) return false;
      rec.data = rd.substr(0, 2);
      rec.data.append(name.view());
      return true;
    case kTypeTxt:
      for (std::size_t i = 0; i < rd.size();) {
        std::size_t len = static_cast<unsigned char>(rd[i++]);
        if (len > rd.size() - i) return false;
        rec.data.append(rd.substr(i, len));
        i += len;
      }
      return true;
    default:
      rec.data = rd;
      return true;
  }
}

// Skips the header and `count` questions; the position of the answer
// section, or 0.
std::size_t skip_questions(std::string_view pkt, unsigned count) {
  std::size_t pos = kHeaderSize;
  Name q;
  while (count--) {
    pos = read_name(pkt, pos, q);
    if (!pos || pkt.size() - pos < 4) return 0;
    pos += 4;
  }
  return pos;
}

}  // namespace

Reply check_reply(std::string_view pkt, uint16_t id, const Name& name, uint16_t type) {
  if (pkt.size() < kHeaderSize) return Reply::mismatch;
  unsigned flags = static_cast<unsigned char>(pkt[2]);
  if (get16(pkt, 0) != id || !(flags & 0x80) || (flags >> 3 & 15) != 0) return Reply::mismatch;
  if (get16(pkt, 4) != 1) return Reply::mismatch;
  Name q;
  std::size_t pos = read_name(pkt, kHeaderSize, q);
  if (!pos || pkt.size() - pos < 4 || !name_equal(q, name)) return Reply::mismatch;
  if (get16(pkt, pos) != type || get16(pkt, pos + 2) != kClassIn) return Reply::mismatch;
  if (flags & 0x02) return Reply::truncated;
  unsigned rcode = static_cast<unsigned char>(pkt[3]) & 15;
  if (rcode != 0 && rcode != 3) return Reply::failed;
  pos += 4;
  Rr rr;
  for (unsigned n = get16(pkt, 6); n; --n) {
    pos = read_rr(pkt, pos, rr);
    if (!pos) return Reply::failed;
  }
  return Reply::ok;
}

Status parse_answer(std::string_view pkt, const Name& name, uint16_t type,
                    std::vector<Record>& out, Name* canonical) {
  out.clear();
  if (pkt.size() < kHeaderSize) return Status::temporary;
  unsigned rcode = static_cast<unsigned char>(pkt[3]) & 15;
  if (rcode == 3) return Status::nxdomain;
  if (rcode != 0) return Status::temporary;
  unsigned answers = get16(pkt, 6);
  std::size_t start = skip_questions(pkt, get16(pkt, 4));
  if (!start) return Status::temporary;

  Name cur = name;
  Name next;
  Rr rr;
  Record rec;
  for (unsigned link = 0;; ++link) {
    bool has_next = false;
    std::size_t pos = start;
    for (unsigned i = 0; i < answers; ++i) {
      pos = read_rr(pkt, pos, rr);
      if (!pos) {
        out.clear();
        return Status::temporary;
      }
      if (rr.cls != kClassIn || !name_equal(rr.owner, cur)) continue;
      if (rr.type == type) {
        if (out.size() < kMaxRecords && decode(pkt, rr, rec)) out.push_back(std::move(rec));
      } else if (rr.type == kTypeCname && !has_next) {
        has_next = read_name_within(pkt, rr.rdata, rr.rdata + rr.rdlen, next);
      }
    }
    if (!out.empty() || !has_next) break;
    if (link == kMaxChain) return Status::temporary;  // out is empty here
    cur = next;
  }
  if (canonical) *canonical = cur;
  return out.empty() ? Status::nodata : Status::ok;
}

}  // namespace qbox::dns
