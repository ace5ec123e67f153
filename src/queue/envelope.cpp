#include "queue/envelope.hpp"

#include <cerrno>
#include <cstring>

#include "base/num.hpp"

namespace qbox::queue {

int qq_exit_code(EnvError e) {
  switch (e) {
    case EnvError::kNone: return 0;
    case EnvError::kTooLong: return 11;
    case EnvError::kFormat: return 91;
    case EnvError::kTruncated:
    case EnvError::kRead: return 54;
  }
  return 81;
}

bool EnvelopeReader::address(Str& out) {
  out.clear();
  for (;;) {
    long r = in_.fill();
    if (r < 0) return fail(EnvError::kRead);
    if (r == 0) return fail(EnvError::kTruncated);
    std::string_view avail = in_.peek();
    const void* nul = std::memchr(avail.data(), 0, avail.size());
    std::size_t take = nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - avail.data())
                           : avail.size();
    // An address may hold kMaxAddress bytes; the byte after them must be the NUL.
    if (take > kMaxAddress - out.size()) return fail(EnvError::kTooLong);
    out.append(avail.data(), take);
    std::size_t used = take + (nul ? 1 : 0);
    in_.skip(used);
    bytes_ += used;
    if (bytes_ > kMaxEnvelope) return fail(EnvError::kTooLong);
    if (nul) return true;
  }
}

bool EnvelopeReader::sender(Str& out) {
  long r = in_.fill();
  if (r < 0) return fail(EnvError::kRead);
  if (r == 0) return fail(EnvError::kTruncated);
  char type = in_.peek()[0];
  if (type != 'F') return fail(EnvError::kFormat);
  in_.skip(1);
  ++bytes_;
  return address(out);
}

int EnvelopeReader::recipient(Str& out) {
  if (err_ != EnvError::kNone) return -1;
  long r = in_.fill();
  if (r < 0) return fail(EnvError::kRead), -1;
  if (r == 0) return fail(EnvError::kTruncated), -1;
  char type = in_.peek()[0];
  in_.skip(1);
  if (++bytes_ > kMaxEnvelope) return fail(EnvError::kTooLong), -1;
  if (type == 0) return 0;
  if (type != 'T') return fail(EnvError::kFormat), -1;
  if (++count_ > kMaxRecipients) return fail(EnvError::kTooLong), -1;
  return address(out) ? 1 : -1;
}

EnvError parse_envelope(std::string_view s, Envelope& out) {
  out.sender.clear();
  out.recipients.clear();
  // The same rules as EnvelopeReader, over bytes in memory.
  auto take_address = [&](Str& a) -> EnvError {
    std::size_t nul = s.find('\0');
    if (nul == std::string_view::npos)
      return s.size() > kMaxAddress ? EnvError::kTooLong : EnvError::kTruncated;
    if (nul > kMaxAddress) return EnvError::kTooLong;
    a = s.substr(0, nul);
    s.remove_prefix(nul + 1);
    return EnvError::kNone;
  };
  if (s.size() > kMaxEnvelope) return EnvError::kTooLong;
  if (s.empty()) return EnvError::kTruncated;
  if (s[0] != 'F') return EnvError::kFormat;
  s.remove_prefix(1);
  if (EnvError e = take_address(out.sender); e != EnvError::kNone) return e;
  for (;;) {
    if (s.empty()) return EnvError::kTruncated;
    char type = s[0];
    s.remove_prefix(1);
    if (type == 0) break;
    if (type != 'T') return EnvError::kFormat;
    if (out.recipients.size() >= kMaxRecipients) return EnvError::kTooLong;
    Str a;
    if (EnvError e = take_address(a); e != EnvError::kNone) return e;
    out.recipients.push_back(static_cast<Str&&>(a));
  }
  return s.empty() ? EnvError::kNone : EnvError::kFormat;
}

namespace {

// One record: its type, its text, a NUL.
void append_record(Str& out, char type, std::string_view text) {
  out.push(type);
  out.append(text);
  out.push('\0');
}

void append_sender_and_recipients(Str& out, std::string_view sender,
                                  const std::vector<std::string_view>& recipients) {
  append_record(out, 'F', sender);
  for (std::string_view r : recipients) append_record(out, 'T', r);
}

}  // namespace

void append_envelope(Str& out, std::string_view sender,
                     const std::vector<std::string_view>& recipients) {
  append_sender_and_recipients(out, sender, recipients);
  out.push('\0');
}

void append_envelope(Str& out, const Envelope& e) {
  std::vector<std::string_view> r;
  r.reserve(e.recipients.size());
  for (const Str& s : e.recipients) r.push_back(s.view());
  append_envelope(out, e.sender.view(), r);
}

int read_record(Reader& in, Str& out, std::size_t max) {
  out.clear();
  int r = in.getline(out, '\0', max + 1);
  if (r < 0) return -1;
  if (r == 0) {
    if (out.empty()) return 0;
    errno = EPROTO;
    return -1;
  }
  out.truncate(out.size() - 1);
  return 1;
}

void append_todo(Str& out, unsigned long long uid, unsigned long long pid,
                 std::string_view sender, const std::vector<std::string_view>& recipients) {
  char d[kNumDigits];
  append_record(out, 'u', fmt_num(d, uid));
  append_record(out, 'p', fmt_num(d, pid));
  append_sender_and_recipients(out, sender, recipients);
}

bool parse_todo(std::string_view s, TodoFile& out) {
  out = TodoFile();
  if (s.size() > kMaxTodoFile) return false;
  bool has_sender = false;
  while (!s.empty()) {
    std::size_t nul = s.find('\0');
    if (nul == std::string_view::npos || nul > kMaxRecord) return false;
    std::string_view rec = s.substr(0, nul);
    s.remove_prefix(nul + 1);
    if (rec.empty()) return false;
    std::string_view body = rec.substr(1);
    switch (rec[0]) {
      case 'u':
      case 'p': {
        auto v = parse_num(body);
        if (!v) return false;
        if (rec[0] == 'u') out.uid = *v, out.has_uid = true;
        else out.pid = *v, out.has_pid = true;
        break;
      }
      case 'F':
        if (has_sender) return false;
        out.sender = body;
        has_sender = true;
        break;
      case 'T':
        if (!has_sender || out.recipients.size() >= kMaxRecipients) return false;
        out.recipients.emplace_back(body);
        break;
      default:
        return false;
    }
  }
  return has_sender;
}

bool parse_channel(std::string_view s, std::vector<ChannelRecord>& todo) {
  if (s.size() > kMaxQueueFile) return false;
  std::uint64_t records = 0;
  for (std::size_t pos = 0; pos < s.size();) {
    std::size_t nul = s.find('\0', pos);
    // A last record without its NUL is one being written (qmail-send died
    // rewriting the file from todo/, which is still there): qmail reads up
    // to it, and so does this.
    if (nul == std::string_view::npos) return s.size() - pos <= kMaxRecord;
    if (nul - pos > kMaxRecord) return false;
    if (++records > kMaxRecipients) return false;
    char type = s[pos];
    if (type == 'T') todo.push_back({s.substr(pos + 1, nul - pos - 1), pos});
    else if (type != 'D') return false;
    pos = nul + 1;
  }
  return true;
}

}  // namespace qbox::queue
