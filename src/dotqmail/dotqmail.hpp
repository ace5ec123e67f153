// The pieces of qmail-local's work that are pure functions of its
// arguments (dot-qmail(5), qmail-local(8), qmail-command(8)): the lines of
// a .qmail file, the files searched for an extension address, the envelope
// sender of forwarded mail, and the header lines and environment values it
// adds.
#pragma once
#include <cstddef>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "base/str.hpp"

namespace qbox::dotqmail {

// A .qmail file is read whole; a bigger one is a temporary failure.
inline constexpr std::size_t kMaxFile = 16u << 20;
// Mode bits that must not be set on the home directory and the .qmail file
// (qmail's conf-patrn; here group- and other-writable, as dot-qmail(5) says).
inline constexpr mode_t kPatrn = 022;

enum class Kind {
  kBlank,    // empty after the trailing spaces and tabs are removed
  kComment,  // #...
  kProgram,  // |command (text: the command)
  kForward,  // &address, or an address starting with another character
  kMbox,     // /path or ./path, not ending in '/'
  kMaildir,  // /path/ or ./path/
  kPlus,     // +... (text after '+'; "+list" makes the file forward-only)
};

struct Line {
  Kind kind = Kind::kBlank;
  std::string_view text;  // the command, address or path
};

// One line without its LF. Trailing spaces and tabs are removed first, as
// qmail-local does; leading ones are not (" me@host" forwards to that).
// The kind comes from the whole line, the text ends at a NUL if there is
// one (qmail-local passes it on as a C string).
Line parse_line(std::string_view line);

// Splits the text of a .qmail file into its lines (without LFs); a last
// line without LF counts, an empty text has no lines.
void split_lines(std::string_view text, std::vector<std::string_view>& out);

// The extension as the file names use it: upper case folded to lower case,
// and every '.' turned into ':' so that an address cannot reach ../ files.
void safe_ext(Str& out, std::string_view ext);

// The files qmail-local tries for an address, in order. `dash` is "" or
// "-", `safeext` comes from safe_ext(). For dash "-" and ext "a-b":
// ".qmail-a-b", ".qmail-a-default", ".qmail-default". When a file found
// ends in "default", $DEFAULT is the part of the original ext from
// `default_at` on (npos: no $DEFAULT).
struct Candidate {
  Str name;
  std::size_t default_at = static_cast<std::size_t>(-1);
};
void search_order(std::string_view dash, std::string_view safeext, std::vector<Candidate>& out);

// A bounce (the empty sender or "#@[]") keeps its sender when forwarded.
bool is_bounce_sender(std::string_view sender);
// The envelope sender for forwarded mail ($NEWSENDER). The sender is kept
// for a bounce and when .qmail-EXT-owner does not exist; otherwise it is
// LOCAL-owner@HOST, or the VERP form LOCAL-owner-@HOST-@[] when
// .qmail-EXT-owner-default exists too.
void new_sender(Str& out, std::string_view sender, std::string_view local, std::string_view host,
                bool owner_exists, bool owner_default_exists);

// "Delivered-To: LOCAL@HOST\n" with any LF inside turned into '_'.
void dt_line(Str& out, std::string_view local, std::string_view host);
// "Return-Path: <SENDER>\n", the sender quoted as qmail quotes addresses,
// LFs turned into '_'.
void rp_line(Str& out, std::string_view sender);

// $HOST2..$HOST4: the domain cut before its last 1, 2, 3 dots (as far as
// there are dots). n is 2, 3 or 4.
std::string_view host_part(std::string_view host, int n);
// $EXT2..$EXT4: the extension after its first 1, 2, 3 dashes ("" when
// there are fewer). n is 2, 3 or 4.
std::string_view ext_part(std::string_view ext, int n);

// How qmail-local reads a program's exit code.
enum class ProgramResult { kOk, kStop /* 99 */, kPerm, kTemp };
ProgramResult program_result(int exitcode);

}  // namespace qbox::dotqmail
