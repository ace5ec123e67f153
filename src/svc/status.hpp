// supervise/status: the 18 bytes daemontools' supervise writes and svstat
// reads. Bytes 0..11 are a TAI64N label (when the pid last changed), 12..15
// the pid little-endian (0: down), 16 the paused flag, 17 what supervise
// wants: 'u' up, 'd' down, 0 neither (after svc -o).
// The file is written as supervise/status.new and renamed over
// supervise/status, so a reader never sees half of it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/str.hpp"
#include "time/tai.hpp"

namespace qbox::svc {

inline constexpr std::size_t kStatusLen = 18;

struct Status {
  Tai64n when;                // when the pid last changed
  std::uint32_t pid = 0;      // 0: the service is down
  unsigned char paused = 0;   // nonzero: stopped with svc -p
  unsigned char want = 0;     // 'u', 'd' or 0
  friend bool operator==(const Status&, const Status&) = default;
};

void encode_status(const Status& s, char out[kStatusLen]);
// Decodes the first 18 bytes; nullopt when there are fewer (svstat's "bad format").
std::optional<Status> decode_status(std::string_view bytes);

// Writes supervise/status.new (relative to the current directory) and
// renames it to supervise/status. kDone, or the step that failed with
// errno set (kPartial: a short write, errno unchanged).
enum class WriteStep { kDone, kOpen, kWrite, kPartial, kRename };
WriteStep write_status(const Status& s);

// Reads supervise/status with a single read(), as svstat does. kShort
// means fewer than 18 bytes came back ("bad format").
enum class ReadResult { kOk, kOpenFailed, kReadFailed, kShort };
ReadResult read_status(Status& out);

// svstat's words after "DIR: " for a running supervise, e.g.
// "up (pid 123) 45 seconds, normally down, paused". now_tai is the TAI64
// label of the current second.
void describe_status(Str& out, const Status& s, std::uint64_t now_tai, bool normally_up);

}  // namespace qbox::svc
