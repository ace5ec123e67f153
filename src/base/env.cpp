#include "base/env.hpp"

#include <cstring>
#include <vector>

#include "base/str.hpp"

extern char** environ;

namespace qbox::env {
namespace {
// name=value or bare name (removal), NUL-separated.
Str changes;
std::vector<char*> built;
Str built_strings;
}  // namespace

const char* get(std::string_view name) {
  if (!environ) return nullptr;
  for (char** e = environ; *e; ++e) {
    const char* s = *e;
    if (std::strncmp(s, name.data(), name.size()) == 0 && s[name.size()] == '=' &&
        std::memchr(name.data(), '=', name.size()) == nullptr)
      return s + name.size() + 1;
  }
  return nullptr;
}

void set(std::string_view name, const char* value) {
  changes.append(name);
  if (value) {
    changes.push('=');
    changes.append(value);
  }
  changes.push('\0');
}

void unset(std::string_view name) { set(name, nullptr); }

std::size_t mark() { return changes.size(); }

void rewind(std::size_t mark) {
  changes.truncate(mark);
}

char** build() {
  // Copy the changes so the pointers stay valid while `changes` may grow.
  built_strings = changes;
  built.clear();
  // One allocation for the array, which a server builds per connection.
  std::size_t entries = 1;
  if (environ)
    for (char** e = environ; *e; ++e) ++entries;
  char* s = built_strings.data();
  std::size_t n = built_strings.size();
  for (std::size_t i = 0; i < n; ++i) entries += s[i] == '\0';
  built.reserve(entries);
  if (environ)
    for (char** e = environ; *e; ++e) built.push_back(*e);
  for (std::size_t i = 0; i < n;) {
    char* entry = s + i;
    std::size_t len = std::strlen(entry);
    const char* eq = std::strchr(entry, '=');
    std::size_t split = eq ? static_cast<std::size_t>(eq - entry) : len;
    // Drop the old value: the last entry takes its place (as pathexec does).
    for (std::size_t t = 0; t < built.size(); ++t) {
      if (std::strncmp(built[t], entry, split) == 0 && built[t][split] == '=') {
        built[t] = built.back();
        built.pop_back();
        break;
      }
    }
    if (eq) built.push_back(entry);
    i += len + 1;
  }
  built.push_back(nullptr);
  return built.data();
}

}  // namespace qbox::env
