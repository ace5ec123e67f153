#include "users/assign.hpp"

#include <cerrno>

#include "cdb/cdb.hpp"

namespace qbox::users {

static char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

AssignParser::Result AssignParser::line(std::string_view line, Str& key, Str& data) {
  if (!line.empty() && line[0] == '.') return Result::kEnd;
  if (line.empty() || line.back() != '\n') return Result::kFormat;
  line.remove_suffix(1);
  if (line.find('\0') != std::string_view::npos) return Result::kFormat;
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return Result::kFormat;

  key = "!";
  key.append(line.substr(1, colon - 1));
  if (line[0] == '+') {
    if (colon >= 2 && wild_.view().find(line[colon - 1]) == std::string_view::npos)
      wild_.push(line[colon - 1]);
  } else {
    key.push('\0');
  }
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = lower(key[i]);

  // user:uid:gid:home:dash:ext: -> the six fields, NUL-separated, without
  // the sixth colon and anything after it.
  std::string_view rest = line.substr(colon + 1);
  data.clear();
  int colons = 0;
  for (char c : rest) {
    if (c == ':') {
      if (++colons == 6) break;
      c = '\0';
    }
    data.push(c);
  }
  if (colons < 6) return Result::kFormat;
  return Result::kRecord;
}

bool parse_assignment(std::string_view data, Assignment& out) {
  Str* fields[] = {&out.user, &out.uid, &out.gid, &out.home, &out.dash};
  for (Str* f : fields) {
    std::size_t nul = data.find('\0');
    if (nul == std::string_view::npos) return false;
    *f = data.substr(0, nul);
    data.remove_prefix(nul + 1);
  }
  out.ext = data;
  return true;
}

int lookup(CdbReader& db, std::string_view local, Assignment& out) {
  Str key("!");
  key.append(local);
  key.push('\0');
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = lower(key[i]);
  int r = db.find("");
  if (r < 0) return -1;
  if (r == 0) {
    errno = EPROTO;  // qmail-newu always writes the empty key
    return -1;
  }
  Str wild(db.value());
  for (std::size_t i = key.size(); i > 0; --i) {
    bool exact = i == key.size();
    if (!exact && i != 1 && wild.view().find(key[i - 1]) == std::string_view::npos) continue;
    r = db.find(key.view().substr(0, i));
    if (r < 0) return -1;
    if (r == 0) continue;
    Str data(db.value());
    if (!exact) data.append(local.substr(i - 1));
    if (!parse_assignment(data.view(), out)) {
      errno = EPROTO;
      return -1;
    }
    return 1;
  }
  return 0;
}

}  // namespace qbox::users
