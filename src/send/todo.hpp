// Taking a new message out of todo/: its recipients are sorted into
// local/ and remote/ by control/locals, control/virtualdomains ("user-"
// prefixes) and control/percenthack, its sender goes to info/, and
// qmail-clean removes todo/ID and intd/ID. qmail-todo does this in a
// process of its own (the ext-todo design), so a large todo/ never starves
// deliveries; qmail-send falls back to it in-process when started without
// qmail-todo.
#pragma once
#include <string_view>

#include "base/str.hpp"
#include "qmail/constmap.hpp"
#include "qmail/control.hpp"

namespace qbox::send {

class Router {
 public:
  // Reads the controls (run in QMAILHOME). false when one could not be read.
  bool load();
  // HUP: rereads locals and virtualdomains; false (old maps kept) on error.
  bool reload();
  // 0 local, 1 remote; out is the recipient as it goes into local/ or remote/.
  int rewrite(std::string_view recip, Str& out) const;

 private:
  qmail::Control ctl_;
  Str envnoathost_;
  qmail::ConstMap locals_, vdoms_, percenthack_;
};

struct TodoDone {
  bool chan[2] = {false, false};  // local/ID, remote/ID written
  Str log;                        // "new msg" and "info msg" lines, or a warning
};

// Processes todo/ID (run in QMAILHOME/queue). clean(id) asks qmail-clean to
// remove todo/ID and intd/ID and says whether it did. True when the message
// was taken over (out.chan says where it went); false when it stays in
// todo/ for a later try, with a warning in out.log. A todo/ file beyond
// the limits of queue/envelope.hpp (more than kMaxRecipients recipients, a
// local/ or remote/ file above kMaxQueueFile) stays, and nothing of it is
// left in info/, local/ or remote/.
bool take_todo(unsigned long id, unsigned split, const Router& router,
               bool (*clean)(unsigned long id), TodoDone& out);

}  // namespace qbox::send
