// Running a program and waiting for its exit code, the way qmail's helpers
// (bouncesaying, except, condredirect) do: the child is found in $PATH, and
// when it cannot be run it exits 111 for a temporary reason (error_temp)
// and 100 for any other, so the caller reads that like any exit code.
#pragma once

namespace qbox {

// Runs argv and returns its exit code. Dies (111) with FATAL "unable to
// fork: ...", FATAL "wait failed" or FATAL "child crashed".
int run_filter_program(const char* fatal, char* const* argv);

}  // namespace qbox
