// A temporary directory for a unit test, removed with everything in it when
// the test ends, and small helpers to put files in it and read them back.
#pragma once
#include <doctest/doctest.h>

#include <cstdlib>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fd.hpp"
#include "base/str.hpp"

namespace qbox::test {

struct TempDir {
  char path[64] = "/tmp/qbox-unit-test.XXXXXX";
  TempDir() { REQUIRE(::mkdtemp(path) != nullptr); }
  ~TempDir() {
    Str cmd("rm -rf ");
    cmd.append(path);
    CHECK(std::system(cmd.c_str()) == 0);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  Str file(std::string_view rel) const {
    Str p(path);
    p.push('/');
    p.append(rel);
    return p;
  }
  void mkdir(std::string_view rel) const { REQUIRE(::mkdir(file(rel).c_str(), 0755) == 0); }
  Str write(std::string_view rel, std::string_view text, mode_t mode = 0644) const {
    Str p = file(rel);
    Fd fd(open_trunc(p.c_str()));
    REQUIRE(fd.ok());
    REQUIRE(write_all(fd.get(), text) == 0);
    REQUIRE(::chmod(p.c_str(), mode) == 0);
    return p;
  }
  Str slurp(std::string_view rel) const {
    Str out;
    REQUIRE(read_file(file(rel).c_str(), out) == 0);
    return out;
  }
};

}  // namespace qbox::test
