#include <doctest/doctest.h>

#include <string_view>

#include "base/str.hpp"
#include "io/text.hpp"

using namespace qbox;

namespace {

// Runs `in` through a conversion C<StrSink>, in chunks of `step` bytes.
template <template <class> class C>
Str convert(std::string_view in, std::size_t step = 1000) {
  Str out;
  StrSink sink{out};
  C<StrSink> c(sink);
  for (std::size_t i = 0; i < in.size(); i += step) c.put(in.substr(i, step));
  c.finish();
  return out;
}

}  // namespace

TEST_CASE("AddCr puts a CR before every LF") {
  CHECK(convert<AddCr>("a\nb\r\n\n") == std::string_view("a\r\nb\r\r\n\r\n"));
  CHECK(convert<AddCr>("") == std::string_view(""));
}

TEST_CASE("DelCr removes the CR of CR LF, across chunks") {
  for (std::size_t step : {1, 2, 3, 1000}) {
    CAPTURE(step);
    CHECK(convert<DelCr>("a\r\nb\rc\r\r\nd\r", step) == std::string_view("a\nb\rc\r\nd\r"));
    CHECK(convert<DelCr>("\r\r\r", step) == std::string_view("\r\r\r"));
    CHECK(convert<DelCr>("\r\n\r\n", step) == std::string_view("\n\n"));
  }
}

TEST_CASE("ShowNonprinting is cat -v") {
  CHECK(convert<ShowNonprinting>("plain text\tTAB\n") == std::string_view("plain text\tTAB\n"));
  CHECK(convert<ShowNonprinting>(std::string_view("\0\x01\x1b\x1f\x7f", 5)) ==
        std::string_view("^@^A^[^_^?"));
  CHECK(convert<ShowNonprinting>("\x80\x89\x8a\x9f\xa0\xc3\xa9\xfe\xff") ==
        std::string_view("M-^@M-^IM-^JM-^_M- M-CM-)M-~M-^?"));
  CHECK(convert<ShowNonprinting>("\r\n") == std::string_view("^M\n"));
}

TEST_CASE("BodyLines prints the non-empty lines after the first empty one") {
  for (std::size_t step : {1, 4, 1000}) {
    CAPTURE(step);
    CHECK(convert<BodyLines>("HTTP/1.0 200\nA: b\n\nbody\n\nmore\nlast", step) ==
          std::string_view("body\nmore\nlast\n"));
    CHECK(convert<BodyLines>("no separator\nat all\n", step) == std::string_view(""));
    CHECK(convert<BodyLines>("\n\n\nx\n", step) == std::string_view("x\n"));
    CHECK(convert<BodyLines>("h\n\n", step) == std::string_view(""));
  }
}

TEST_CASE("Chains finish every conversion: delcr | awk") {
  Str out;
  StrSink sink{out};
  BodyLines<StrSink> body(sink);
  DelCr<BodyLines<StrSink>> del(body);
  del.put("H: 1\r\n\r\nline\r\nend\r");
  del.finish();
  CHECK(out == std::string_view("line\nend\r\n"));
}
