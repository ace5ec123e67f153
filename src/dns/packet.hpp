// DNS packets (RFC 1035): building a query, checking that a reply answers
// it, and reading the records of the answer section. Everything works on a
// bounded view with explicit length checks; nothing in a packet decides how
// much is allocated beyond the packet's own size and kMaxRecords.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/str.hpp"
#include "dns/name.hpp"

namespace qbox::dns {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypePtr = 12;
inline constexpr uint16_t kTypeMx = 15;
inline constexpr uint16_t kTypeTxt = 16;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kClassIn = 1;

inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::size_t kMaxRecords = 128;  // records kept from one answer
inline constexpr unsigned kMaxChain = 8;         // CNAMEs followed from one name

// What a lookup found. nxdomain is permanent (the name does not exist);
// nodata means the name exists without records of that type; temporary
// covers SERVFAIL, timeouts, network errors and malformed answers: the
// caller should try again later (qmail defers, it does not bounce).
enum class Status { ok, nxdomain, nodata, temporary };

// Appends a query: header with `id` and RD (recursion desired), one
// question for `name`, `type`, class IN.
void build_query(Str& out, uint16_t id, const Name& name, uint16_t type);

enum class Reply {
  ok,         // answers our question, rcode NOERROR or NXDOMAIN
  mismatch,   // not an answer to our question: ignore it, keep waiting
  truncated,  // TC set: ask the same server again over TCP
  failed,     // SERVFAIL, REFUSED, other rcodes, or a malformed answer
              // section: ask the next server
};
// Checks a reply against the question we sent: ID, QR bit, opcode, one
// question echoing our name (any case), type and class; then the rcode and
// that every record of the answer section is well formed.
Reply check_reply(std::string_view pkt, uint16_t id, const Name& name, uint16_t type);

// One record of the type asked for, its data decoded: A 4 bytes, AAAA 16
// bytes, PTR and CNAME a wire name, MX 2 bytes of preference (big-endian)
// and a wire name, TXT its character-strings concatenated; other types the
// raw data. Names inside the data are expanded from compression pointers.
struct Record {
  uint16_t type = 0;
  Str data;
};

// Reads the answer to `name`/`type` from a reply: the records of that type
// owned by `name`, or by the end of the CNAME chain that starts at `name`
// (at most kMaxChain links; a longer chain or a loop is temporary). Records
// with data that does not fit their type are skipped; at most kMaxRecords
// are kept. `canonical` (if given) receives the name at the end of the
// chain. Status: ok, nxdomain (rcode NXDOMAIN), nodata (NOERROR without
// such records), temporary (other rcodes or a malformed packet). `out`
// is empty unless the status is ok.
Status parse_answer(std::string_view pkt, const Name& name, uint16_t type,
                    std::vector<Record>& out, Name* canonical = nullptr);

}  // namespace qbox::dns
