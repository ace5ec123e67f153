#include "qmail/header.hpp"

namespace qbox::qmail {

namespace {

constexpr const char* kNames[] = {
    "unknown-header", "sender", "from", "reply-to", "to", "cc", "bcc", "date", "message-id",
    "subject", "resent-sender", "resent-from", "resent-reply-to", "resent-to", "resent-cc",
    "resent-bcc", "resent-date", "resent-message-id", "return-receipt-to", "errors-to",
    "apparently-to", "received", "return-path", "delivered-to", "content-length",
    "content-type", "content-transfer-encoding", "notice-requested-upon-delivery-to",
    "mail-followup-to"};
static_assert(sizeof kNames / sizeof kNames[0] == static_cast<std::size_t>(Field::kCount));

bool matches(std::string_view line, std::string_view name) {
  std::size_t i = 0;
  for (; i < name.size(); ++i) {
    if (i >= line.size()) return false;
    char want = name[i], c = line[i];
    if (c == want) continue;
    if (want == '-' || c != want - 32) return false;  // upper case letters match too
  }
  for (; i < line.size(); ++i) {
    if (line[i] == ':') return true;
    if (line[i] != ' ' && line[i] != '\t') return false;
  }
  return false;
}

}  // namespace

Field field_known(std::string_view line) {
  for (std::size_t i = 1; i < static_cast<std::size_t>(Field::kCount); ++i)
    if (matches(line, kNames[i])) return static_cast<Field>(i);
  return Field::kUnknown;
}

bool field_valid(std::string_view line) {
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  std::size_t j = colon;
  while (j && (line[j - 1] == ' ' || line[j - 1] == '\t')) --j;
  if (!j) return false;
  for (std::size_t i = 0; i < j; ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c <= 32 || c >= 127) return false;
  }
  return true;
}

std::size_t field_skip_name(std::string_view line) {
  std::size_t i = line.find(':');
  if (i == std::string_view::npos) return line.size();
  ++i;
  while (i < line.size() && (line[i] == '\t' || line[i] == '\n' || line[i] == '\r' || line[i] == ' '))
    ++i;
  return i;
}

}  // namespace qbox::qmail
