// Sending the message on descriptor 0 on to new recipients through the
// queue, as qmail's forward and condredirect do: the Delivered-To line
// first (from $DTLINE), then the message, with a given envelope sender.
#pragma once
#include <string_view>

namespace qbox::queue {

class Submit;

// Copies the rest of fd into the message. 0 at its end, -1 on a read error
// (errno).
int put_fd(Submit& qq, int fd);

// Queues DTLINE and the rest of descriptor 0 for `recipients` (a
// null-terminated list) from `sender`. On success, returns qmail-queue's
// pid (for "qp N"). Dies with FATAL "unable to fork: ...", FATAL "unable to
// read message: ..." or FATAL and the queue's error text (100 for a
// permanent error, else 111).
long resend(const char* fatal, const char* dtline, const char* sender,
            char* const* recipients);

}  // namespace qbox::queue
