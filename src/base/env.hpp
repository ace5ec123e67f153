// Environment handling. Reading goes straight to environ; changes are
// collected (as daemontools' pathexec_env does) and applied when a program
// is executed, so the running process never edits its own environ.
#pragma once
#include <cstddef>
#include <string_view>

namespace qbox::env {

// The value of NAME in the current environment, or nullptr.
const char* get(std::string_view name);

// Records NAME=value for the next exec; value nullptr removes NAME.
// Later changes to the same name win.
void set(std::string_view name, const char* value);
void unset(std::string_view name);

// For a server that prepares one environment per connection: mark() is
// where the changes recorded so far end; rewind(mark) forgets those
// recorded after it (keeping the memory for the next ones).
std::size_t mark();
void rewind(std::size_t mark);

// The environment for exec: environ with the recorded changes applied. A
// changed variable takes its new value in place; a new one is appended.
// The array lives until the next call.
char** build();

}  // namespace qbox::env
