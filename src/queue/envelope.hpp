// Envelopes, in the two forms qmail uses:
//
// - On qmail-queue's descriptor 1 (qmail-queue(8), envelopes(5)):
//     "F" sender NUL, then "T" recipient NUL for each recipient, then NUL.
// - In the queue (intd/ and todo/), as qmail-queue writes them:
//     "u" uid NUL "p" pid NUL "F" sender NUL ("T" recipient NUL)...
//   with no final NUL. qmail-send copies the "F" record to info/ and the
//   recipients to local/ and remote/, where "D" replaces "T" once done.
//
// Everything here is bounded: one address is at most kMaxAddress bytes (as
// qmail-queue's ADDR), a queue file record at most kMaxRecord, a whole
// envelope at most kMaxEnvelope bytes and kMaxRecipients recipients.
// Readers hold one record at a time, so a giant envelope costs no memory,
// and all counts are 64-bit. qmail-queue refuses what is beyond these
// (exit 11, permanent), so every message it queued fits what qmail-send
// holds in memory for it; a queue file beyond them is damaged, and its
// readers refuse it as they refuse any malformed one.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/str.hpp"
#include "io/buffer.hpp"

namespace qbox::queue {

inline constexpr std::size_t kMaxAddress = 1002;           // bytes, without type and NUL
inline constexpr std::size_t kMaxRecord = 65536;            // records of queue files
inline constexpr std::uint64_t kMaxEnvelope = 4ULL << 20;  // a whole envelope
inline constexpr std::uint64_t kMaxRecipients = 100000;     // of one message
// A todo/ file: the envelope with the u and p records in front.
inline constexpr std::size_t kMaxTodoFile = kMaxEnvelope + 64;
// A local/, remote/ or bounce/ file: qmail-send's rewriting may make
// addresses longer (virtualdomains prefixes, "@me"), and bounce/ collects
// a report for each recipient. qmail-send writes none larger.
inline constexpr std::size_t kMaxQueueFile = 4 * kMaxEnvelope;

// What can go wrong reading an envelope, with the qmail-queue exit code
// each one means.
enum class EnvError {
  kNone = 0,
  kTooLong,   // an address above kMaxAddress, the envelope above kMaxEnvelope
              // bytes or kMaxRecipients recipients: 11
  kFormat,    // not F first, not T next, ...: 91
  kTruncated, // end of input before the final NUL: 54
  kRead,      // read error (errno): 54
};
int qq_exit_code(EnvError e);

// Reads the descriptor-1 form one address at a time, holding only that one.
class EnvelopeReader {
 public:
  explicit EnvelopeReader(Reader& in) : in_(in) {}
  // The sender (first record, "F"). true, or false and error().
  bool sender(Str& out);
  // The next recipient: 1 one in out, 0 the final NUL was read, -1 error().
  int recipient(Str& out);
  EnvError error() const { return err_; }
  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t recipients() const { return count_; }

 private:
  // Reads an address after its type byte, up to and including the NUL.
  bool address(Str& out);
  bool fail(EnvError e) { err_ = e; return false; }
  Reader& in_;
  EnvError err_ = EnvError::kNone;
  std::uint64_t bytes_ = 0;
  std::uint64_t count_ = 0;
};

struct Envelope {
  Str sender;
  std::vector<Str> recipients;
};

// Parses a whole descriptor-1 envelope held in memory; bytes after the
// final NUL are refused (kFormat).
EnvError parse_envelope(std::string_view s, Envelope& out);
// Appends the descriptor-1 form.
void append_envelope(Str& out, std::string_view sender,
                     const std::vector<std::string_view>& recipients);
void append_envelope(Str& out, const Envelope& e);

// Queue file records: NUL-terminated, first byte the type.
// read_record: 1 one record in out (without its NUL), 0 clean end of
// input, -1 error: errno EPROTO for a last record without NUL, E2BIG for
// one longer than max, or the read error.
int read_record(Reader& in, Str& out, std::size_t max = kMaxRecord);

// The intd/todo file qmail-queue writes, as a whole (for tests and tools).
struct TodoFile {
  unsigned long long uid = 0, pid = 0;
  bool has_uid = false, has_pid = false;
  Str sender;
  std::vector<Str> recipients;
};
void append_todo(Str& out, unsigned long long uid, unsigned long long pid,
                 std::string_view sender, const std::vector<std::string_view>& recipients);
// false for a record of unknown type, a number that does not parse, a
// missing or second F, a T before F, a record without NUL or above
// kMaxRecord, a file above kMaxTodoFile or more than kMaxRecipients T.
bool parse_todo(std::string_view s, TodoFile& out);

// A local/ or remote/ file: "T" address NUL for a recipient still to do,
// "D" address NUL once done. parse_channel appends the T records (the
// address and the offset of its type byte, where qmail-send writes the D)
// to `todo`; false for another type, a record above kMaxRecord, a file
// above kMaxQueueFile or more than kMaxRecipients records. A last record
// without NUL is left out, as qmail does.
struct ChannelRecord {
  std::string_view addr;
  std::size_t pos;
};
bool parse_channel(std::string_view s, std::vector<ChannelRecord>& todo);

}  // namespace qbox::queue
