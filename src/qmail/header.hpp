// Header fields as qmail's hfield.c knows them: which field a line starts
// (case-insensitive name, optional blanks, colon) and whether a line can
// start a field at all.
#pragma once
#include <cstddef>
#include <string_view>

namespace qbox::qmail {

enum class Field {
  kUnknown = 0,
  kSender, kFrom, kReplyTo, kTo, kCc, kBcc, kDate, kMessageId, kSubject,
  kResentSender, kResentFrom, kResentReplyTo, kResentTo, kResentCc, kResentBcc,
  kResentDate, kResentMessageId,
  kReturnReceiptTo, kErrorsTo, kApparentlyTo, kReceived, kReturnPath, kDeliveredTo,
  kContentLength, kContentType, kContentTransferEncoding,
  kNoticeRequestedUponDeliveryTo, kMailFollowupTo,
  kCount
};

// The field a header line (name, blanks, ':' ...) starts, or kUnknown.
Field field_known(std::string_view line);
// A name of printable non-blank bytes, then optional blanks, then ':'.
bool field_valid(std::string_view line);
// The offset of the value: past the ':' and the blanks and line breaks after it.
std::size_t field_skip_name(std::string_view line);

}  // namespace qbox::qmail
