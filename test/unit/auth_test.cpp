#include <doctest/doctest.h>

#include <bearssl.h>
#include <crypt.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/base64.hpp"
#include "base/str.hpp"
#include "cdb/cdb.hpp"
#include "smtp/auth.hpp"
#include "smtp/authdb.hpp"
#include "smtp/pwhash.hpp"
#include "smtp/validrcptto.hpp"
#include "tempdir.hpp"

using namespace qbox;
using namespace qbox::smtp;

namespace {

Str b64(std::string_view s) {
  Str out;
  base64_encode(s, out);
  return out;
}

Str unb64(std::string_view s) {
  Str out;
  REQUIRE(base64_decode(s, out));
  return out;
}

// An SMTP connection in memory: the client's lines come from `answer`,
// which sees everything the server wrote so far (to read a challenge).
class FakeIo : public smtp::LineIo {
 public:
  std::function<int(std::string_view written, Str& line)> answer;
  Str out;
  int getline(Str& line, std::size_t max) override {
    line.clear();
    if (!answer) return 0;
    int r = answer(out.view(), line);
    if (r == 1 && line.size() > max) return -2;
    return r;
  }
  int put(std::string_view s) override { out.append(s); return 0; }
  int flush() override { return 0; }
  bool tls() const override { return false; }
};

// A client that sends these lines, then ends the connection.
void script(FakeIo& io, std::vector<std::string_view> lines) {
  auto pos = std::make_shared<std::size_t>(0);
  io.answer = [lines, pos](std::string_view, Str& line) {
    if (*pos >= lines.size()) return 0;
    line = lines[(*pos)++];
    return 1;
  };
}

// The challenge of the last "334 " line, decoded.
Str last_challenge(std::string_view written) {
  std::size_t at = written.rfind("334 ");
  REQUIRE(at != std::string_view::npos);
  std::string_view rest = written.substr(at + 4);
  return unb64(rest.substr(0, rest.find("\r\n")));
}

// HMAC-MD5 with BearSSL's own HMAC, as an independent reference.
Str hmac_md5_hex(std::string_view key, std::string_view data) {
  br_hmac_key_context kc;
  br_hmac_key_init(&kc, &br_md5_vtable, key.data(), key.size());
  br_hmac_context hc;
  br_hmac_init(&hc, &kc, 0);
  br_hmac_update(&hc, data.data(), data.size());
  unsigned char d[16];
  br_hmac_out(&hc, d);
  Str hex;
  for (unsigned char c : d) {
    hex.push("0123456789abcdef"[c >> 4]);
    hex.push("0123456789abcdef"[c & 15]);
  }
  return hex;
}

// Hashes made with `openssl passwd -1/-5/-6 -salt ...` when the test was written.
constexpr std::string_view kMd5Hash = "$1$saltsalt$2HM3oGhH6VPi/5dxZ798f/";                      // secret1
constexpr std::string_view kSha256Hash = "$5$saltsaltsalt$FruymSKj7hU9S/Zpql2wzM8hw8OeoAp5aeSncC9YTl7";  // secret5
constexpr std::string_view kSha512Hash =
    "$6$saltsaltsaltsalt$Rw9Rw9kiOW7vR5rgqyrCvR1cdx62F0zlqXdcD75GhIbcb63t62XCVWpI2hwqMGJODE06VRt6vqrMdko9"
    "l1Tva/";  // secret6

}  // namespace

TEST_CASE("base64 follows RFC 4648") {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},         {"f", "Zg=="},        {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (auto [plain, enc] : vectors) {
    CHECK(b64(plain) == enc);
    CHECK(unb64(enc) == plain);
  }
  CHECK(b64(std::string_view("\0\xff\x10", 3)) == "AP8Q");
  CHECK(unb64("AP8Q") == std::string_view("\0\xff\x10", 3));
  // Padding may be left out; anything else wrong is refused.
  CHECK(unb64("Zm8") == "fo");
  CHECK(unb64("Zg") == "f");
  Str out;
  CHECK_FALSE(base64_decode("Zm9v YmFy", out));
  CHECK_FALSE(base64_decode("Zm9vY", out));     // a lone character
  CHECK_FALSE(base64_decode("Zg=v", out));      // '=' inside
  CHECK_FALSE(base64_decode("Zg===", out));     // too much padding
  CHECK_FALSE(base64_decode("Zm8==", out));     // padding past a group of four
  CHECK_FALSE(base64_decode("Zm9v*mFy", out));
  CHECK(b64("Username:") == "VXNlcm5hbWU6");
  CHECK(b64("Password:") == "UGFzc3dvcmQ6");
}

TEST_CASE("crypt checks $1$, $5$ and $6$ hashes") {
  CHECK(is_crypt_hash(kMd5Hash));
  CHECK(is_crypt_hash(kSha256Hash));
  CHECK(is_crypt_hash(kSha512Hash));
  CHECK(crypt_check("secret1", kMd5Hash) == 1);
  CHECK(crypt_check("secret5", kSha256Hash) == 1);
  CHECK(crypt_check("secret6", kSha512Hash) == 1);
  CHECK(crypt_check("secret6", kMd5Hash) == 0);
  CHECK(crypt_check("Secret6", kSha512Hash) == 0);
  CHECK(crypt_check("secret", kSha256Hash) == 0);
  CHECK(crypt_check("x", "$2b$10$whatever") == -1);
  CHECK(crypt_check(std::string_view("secret6\0x", 9), kSha512Hash) == 0);

  CHECK(is_crypt_hash("$6$rounds=6000$salt$" + std::string(86, 'a')));
  CHECK_FALSE(is_crypt_hash("$6$salt$tooshort"));
  CHECK_FALSE(is_crypt_hash("$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"));
  CHECK_FALSE(is_crypt_hash("$1$saltsaltX$2HM3oGhH6VPi/5dxZ798f/"));  // salt past 8
  CHECK_FALSE(is_crypt_hash("$1$salt salt$2HM3oGhH6VPi/5dxZ798f/"));
  CHECK_FALSE(is_crypt_hash("plaintext"));
  CHECK_FALSE(is_crypt_hash("*"));

  Str h;
  REQUIRE(crypt_sha512("correct horse", h));
  CHECK(h.view().starts_with("$6$"));
  CHECK(is_crypt_hash(h.view()));
  CHECK(h.view().substr(3, 17).find('$') == 16);  // a 16-character salt
  CHECK(crypt_check("correct horse", h.view()) == 1);
  CHECK(crypt_check("correct horsE", h.view()) == 0);
  Str h2;
  REQUIRE(crypt_sha512("correct horse", h2));
  CHECK(h2 != h);  // a new salt each time
}

TEST_CASE("pw_crypt gives what glibc's crypt() gives") {
  const char* settings[] = {"$1$saltsalt$", "$1$ab$", "$1$$", "$1$toolongsaltXYZ$",
                            "$5$saltsaltsalt$", "$5$rounds=1200$x$",
                            "$5$$", "$6$saltsaltsaltsalt$", "$6$rounds=1001$abc$",
                            "$6$morethansixteencharacters$", "$6$"};
  const char* passwords[] = {"", "a", "secret6", "sixteen chars!!!", "a password longer than "
                             "one digest of sixty-four bytes, to wrap the repeated blocks around"};
  for (const char* setting : settings) {
    for (const char* pw : passwords) {
      Str ours;
      REQUIRE(pw_crypt(pw, setting, ours));
      const char* theirs = ::crypt(pw, setting);
      REQUIRE(theirs != nullptr);
      CHECK_MESSAGE(ours == std::string_view(theirs), setting, " / ", pw);
    }
  }
  Str out;
  CHECK_FALSE(pw_crypt("x", "$2b$10$abc", out));
  CHECK_FALSE(pw_crypt("x", "$6$rounds=12x$abc", out));
  CHECK_FALSE(pw_crypt("x", "$5$rounds=10$short$", out));  // below 1000, as libxcrypt and musl
  CHECK(std::string_view(::crypt("x", "$5$rounds=10$short$")) == "*0");
  CHECK_FALSE(pw_crypt("x", "plain", out));
}

TEST_CASE("the CRAM-MD5 secret answers RFC 2195's example") {
  Str secret;
  cram_secret("tanstaaftanstaaf", secret);
  CHECK(is_cram_secret(secret.view()));
  char hex[32];
  REQUIRE(cram_digest(secret.view(), "<1896.697170952@postoffice.reston.mci.net>", hex));
  CHECK(std::string_view(hex, 32) == "b913a602c7eda7a495b4e6e7334d3890");

  // Any key length (longer than a block too) agrees with HMAC-MD5 itself.
  for (std::string_view key : {std::string_view("k"), std::string_view("exactly sixty-four bytes long, filled up with some words ........"),
                               std::string_view("a key longer than one MD5 block of sixty-four bytes, so HMAC hashes it first")}) {
    Str s;
    cram_secret(key, s);
    REQUIRE(cram_digest(s.view(), "<123.456@example.org>", hex));
    CHECK(std::string_view(hex, 32) == hmac_md5_hex(key, "<123.456@example.org>").view());
  }
  CHECK_FALSE(cram_digest("cram-md5:xyz", "c", hex));
  CHECK_FALSE(is_cram_secret("cram-md5:" + std::string(64, 'A')));
}

TEST_CASE("auth.cdb records") {
  AuthRecord r;
  CHECK(parse_auth_record(kMd5Hash, r));
  CHECK(r.hash == kMd5Hash);
  CHECK(r.cram.empty());
  Str v(kSha512Hash);
  v.push('\n');
  cram_secret("x", v);
  CHECK(parse_auth_record(v.view(), r));
  CHECK(r.cram.starts_with("cram-md5:"));
  CHECK_FALSE(parse_auth_record("nothash", r));
  Str bad(kMd5Hash);
  bad.append("\n");
  CHECK_FALSE(parse_auth_record(bad.view(), r));
  bad.append("cram-md5:00");
  CHECK_FALSE(parse_auth_record(bad.view(), r));
}

namespace {

// control/auth.cdb with tim (password tanstaaftanstaaf, CRAM-MD5 secret)
// and joe (secret6, no CRAM-MD5 secret).
struct AuthCdb {
  test::TempDir dir;
  Str path = dir.file("auth.cdb");
  AuthConfig cfg;
  AuthCdb() {
    CdbMaker mk;
    REQUIRE(mk.start(path.c_str(), dir.file("auth.tmp").c_str()) == 0);
    Str tim;
    REQUIRE(crypt_sha512("tanstaaftanstaaf", tim));
    tim.push('\n');
    cram_secret("tanstaaftanstaaf", tim);
    REQUIRE(mk.add("tim", tim.view()) == 0);
    REQUIRE(mk.add("joe", kSha512Hash) == 0);
    REQUIRE(mk.finish() == 0);
    cfg.cdb = path.c_str();
    cfg.hostname = "mx.example.org";
  }
};

int run(std::string_view args, FakeIo& io, const AuthConfig& cfg, Str& user, Str& why) {
  return auth_command(args, io, cfg, user, why);
}

}  // namespace

TEST_CASE("AUTH PLAIN, with an initial response or after an empty 334") {
  AuthCdb db;
  FakeIo io;
  Str user, why;
  Str arg("PLAIN ");
  arg.append(b64(std::string_view("\0tim\0tanstaaftanstaaf", 21)).view());
  CHECK(run(arg.view(), io, db.cfg, user, why) == 1);
  CHECK(io.out == "235 ok, go ahead (#2.0.0)\r\n");
  CHECK(user == "tim");

  FakeIo io2;
  Str resp = b64(std::string_view("admin\0joe\0secret6", 17));
  script(io2, {resp.view()});
  CHECK(run("plain", io2, db.cfg, user, why) == 1);
  CHECK(io2.out == "334 \r\n235 ok, go ahead (#2.0.0)\r\n");
  CHECK(user == "joe");

  FakeIo io3;
  Str wrong("PLAIN ");
  wrong.append(b64(std::string_view("\0joe\0secret5", 12)).view());
  CHECK(run(wrong.view(), io3, db.cfg, user, why) == 0);
  CHECK(io3.out == "535 authentication failed (#5.7.1)\r\n");
  CHECK(user.empty());
  CHECK(why == "PLAIN user joe: wrong password");

  FakeIo io4;
  Str nouser("PLAIN ");
  nouser.append(b64(std::string_view("\0nobody\0x", 9)).view());
  CHECK(run(nouser.view(), io4, db.cfg, user, why) == 0);
  CHECK(io4.out == "535 authentication failed (#5.7.1)\r\n");
  CHECK(why == "PLAIN user nobody: no such user");

  FakeIo io5;
  Str onenul("PLAIN ");
  onenul.append(b64(std::string_view("joe\0secret6", 11)).view());
  CHECK(run(onenul.view(), io5, db.cfg, user, why) == 0);
  CHECK(io5.out == "501 malformed auth input (#5.5.4)\r\n");
}

TEST_CASE("AUTH LOGIN asks for the user name and the password") {
  AuthCdb db;
  FakeIo io;
  Str u = b64("joe"), p = b64("secret6");
  script(io, {u.view(), p.view()});
  Str user, why;
  CHECK(run("LOGIN", io, db.cfg, user, why) == 1);
  CHECK(io.out == "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 ok, go ahead (#2.0.0)\r\n");
  CHECK(user == "joe");

  // The user name may come with the command.
  FakeIo io2;
  script(io2, {p.view()});
  Str arg("LOGIN ");
  arg.append(u.view());
  CHECK(run(arg.view(), io2, db.cfg, user, why) == 1);
  CHECK(io2.out == "334 UGFzc3dvcmQ6\r\n235 ok, go ahead (#2.0.0)\r\n");

  // "*" cancels; an empty line or bad base64 is malformed input.
  FakeIo io3;
  script(io3, {u.view(), "*"});
  CHECK(run("LOGIN", io3, db.cfg, user, why) == 0);
  CHECK(io3.out == "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n501 auth exchange cancelled (#5.0.0)\r\n");
  CHECK(why == "cancelled by the client");
  FakeIo io4;
  script(io4, {""});
  CHECK(run("LOGIN", io4, db.cfg, user, why) == 0);
  CHECK(io4.out == "334 VXNlcm5hbWU6\r\n501 malformed auth input (#5.5.4)\r\n");
  FakeIo io5;
  script(io5, {"not base64!"});
  CHECK(run("LOGIN", io5, db.cfg, user, why) == 0);
  CHECK(io5.out == "334 VXNlcm5hbWU6\r\n501 malformed auth input (#5.5.4)\r\n");

  // The connection ending in the middle is -1.
  FakeIo io6;
  script(io6, {u.view()});
  CHECK(run("LOGIN", io6, db.cfg, user, why) == -1);
}

TEST_CASE("AUTH CRAM-MD5 with the secret from auth.cdb") {
  AuthCdb db;
  FakeIo io;
  Str challenge;
  io.answer = [&](std::string_view written, Str& line) {
    challenge = last_challenge(written);
    Str secret;
    cram_secret("tanstaaftanstaaf", secret);
    char hex[32];
    REQUIRE(cram_digest(secret.view(), challenge.view(), hex));
    Str resp("tim ");
    resp.append(hex, 32);
    line = b64(resp.view());
    return 1;
  };
  Str user, why;
  CHECK(run("CRAM-MD5", io, db.cfg, user, why) == 1);
  CHECK(user == "tim");
  CHECK(io.out.view().ends_with("\r\n235 ok, go ahead (#2.0.0)\r\n"));
  // <random.timestamp@hostname>
  CHECK(challenge.view().starts_with("<"));
  CHECK(challenge.view().ends_with("@mx.example.org>"));
  CHECK(challenge.view().find('.') < challenge.view().find('@'));

  // A wrong digest, and a user without a CRAM-MD5 secret, are refused.
  FakeIo io2;
  io2.answer = [](std::string_view, Str& line) {
    line = b64("tim 00000000000000000000000000000000");
    return 1;
  };
  CHECK(run("CRAM-MD5", io2, db.cfg, user, why) == 0);
  CHECK(io2.out.view().ends_with("\r\n535 authentication failed (#5.7.1)\r\n"));
  CHECK(why == "CRAM-MD5 user tim: wrong digest");
  FakeIo io3;
  io3.answer = [](std::string_view written, Str& line) {
    Str secret;
    cram_secret("secret6", secret);
    char hex[32];
    REQUIRE(cram_digest(secret.view(), last_challenge(written).view(), hex));
    Str resp("joe ");
    resp.append(hex, 32);
    line = b64(resp.view());
    return 1;
  };
  CHECK(run("CRAM-MD5", io3, db.cfg, user, why) == 0);
  CHECK(io3.out.view().ends_with("\r\n535 authentication failed (#5.7.1)\r\n"));
  CHECK(why == "CRAM-MD5 user joe: no CRAM-MD5 secret");
}

TEST_CASE("AUTH mechanisms, unknown ones, and no backend") {
  AuthCdb db;
  CHECK(auth_mechanisms(db.cfg) == "LOGIN PLAIN CRAM-MD5");
  AuthConfig none;
  CHECK(auth_mechanisms(none).empty());
  FakeIo io;
  Str user, why;
  CHECK(run("DIGEST-MD5", io, db.cfg, user, why) == 0);
  CHECK(io.out == "504 auth type unimplemented (#5.5.1)\r\n");
  FakeIo io2;
  CHECK(run("", io2, db.cfg, user, why) == 0);
  CHECK(io2.out == "504 auth type unimplemented (#5.5.1)\r\n");
  FakeIo io3;
  CHECK(run("PLAIN", io3, none, user, why) == 0);
  CHECK(io3.out == "503 auth not available (#5.3.3)\r\n");

  // A missing auth.cdb is a temporary failure.
  AuthConfig gone = db.cfg;
  Str missing = db.dir.file("missing.cdb");
  gone.cdb = missing.c_str();
  FakeIo io4;
  Str arg("PLAIN ");
  arg.append(b64(std::string_view("\0joe\0secret6", 12)).view());
  CHECK(run(arg.view(), io4, gone, user, why) == 0);
  CHECK(io4.out == "454 temporary authentication failure (#4.3.0)\r\n");
}

namespace {

// A checkpassword in sh: keeps what it read on descriptor 3 in `got`, and
// exits as the password says: good 0, temp 111, crash by SIGSEGV, slow
// sleeps; anything else 1.
struct CheckPassword {
  test::TempDir dir;
  Str prog = dir.write("checkpassword",
                       "#!/bin/sh\n"
                       "cat <&3 >\"$(dirname \"$0\")/got\"\n"
                       "got=\"$(dirname \"$0\")/got\"\n"
                       "if grep -q good \"$got\"; then exec \"$@\"; fi\n"
                       "grep -q temp \"$got\" && exit 111\n"
                       "grep -q crash \"$got\" && kill -SEGV $$\n"
                       "grep -q slow \"$got\" && exec sleep 10\n"
                       "exit 1\n",
                       0755);
  char true_prog[16] = "true";
  char* argv[3] = {prog.data(), true_prog, nullptr};
  AuthConfig cfg;
  CheckPassword() {
    cfg.checkpassword = argv;
    cfg.hostname = "mx.example.org";
  }
  Str got() const { return dir.slurp("got"); }
};

int plain(std::string_view user, std::string_view pass, const AuthConfig& cfg, Str& out, Str& why) {
  Str resp;
  resp.push('\0');
  resp.append(user);
  resp.push('\0');
  resp.append(pass);
  Str arg("PLAIN ");
  arg.append(b64(resp.view()).view());
  FakeIo io;
  int r = auth_command(arg.view(), io, cfg, out, why);
  out.append("|");
  out.append(io.out.view());
  return r;
}

}  // namespace

TEST_CASE("checkpassword gets user NUL password NUL NUL on descriptor 3") {
  CheckPassword cp;
  CHECK(auth_mechanisms(cp.cfg) == "LOGIN PLAIN CRAM-MD5");
  Str out, why;
  CHECK(plain("tim", "good", cp.cfg, out, why) == 1);
  CHECK(out == "tim|235 ok, go ahead (#2.0.0)\r\n");
  CHECK(cp.got() == std::string_view("tim\0good\0\0", 10));

  out.clear();
  CHECK(plain("tim", "bad", cp.cfg, out, why) == 0);
  CHECK(out == "|535 authentication failed (#5.7.1)\r\n");
  CHECK(why == "PLAIN user tim: checkpassword exit 1");
  out.clear();
  CHECK(plain("tim", "temp", cp.cfg, out, why) == 0);
  CHECK(out == "|454 temporary authentication failure (#4.3.0)\r\n");
  CHECK(why == "PLAIN user tim: checkpassword exit 111");
  out.clear();
  CHECK(plain("tim", "crash", cp.cfg, out, why) == 0);
  CHECK(out == "|454 temporary authentication failure (#4.3.0)\r\n");
  CHECK(why == "PLAIN user tim: checkpassword crashed");

  int saved = g_checkpassword_timeout_ms;
  g_checkpassword_timeout_ms = 300;
  out.clear();
  CHECK(plain("tim", "slow", cp.cfg, out, why) == 0);
  g_checkpassword_timeout_ms = saved;
  CHECK(out == "|454 temporary authentication failure (#4.3.0)\r\n");
  CHECK(why == "PLAIN user tim: checkpassword timed out");

  char missing[] = "/nonexistent/checkpassword";
  char* argv[] = {missing, nullptr};
  AuthConfig gone = cp.cfg;
  gone.checkpassword = argv;
  out.clear();
  CHECK(plain("tim", "good", gone, out, why) == 0);
  CHECK(out == "|454 temporary authentication failure (#4.3.0)\r\n");
  CHECK(why.view().starts_with("PLAIN user tim: unable to run /nonexistent/checkpassword: "));
}

TEST_CASE("checkpassword gets user NUL digest NUL challenge NUL for CRAM-MD5") {
  CheckPassword cp;
  FakeIo io;
  Str challenge;
  io.answer = [&](std::string_view written, Str& line) {
    challenge = last_challenge(written);
    line = b64("tim 0123456789abcdef0123456789abcdef good");  // the user is before the last space
    return 1;
  };
  Str user, why;
  CHECK(auth_command("CRAM-MD5", io, cp.cfg, user, why) == 1);
  CHECK(user == "tim 0123456789abcdef0123456789abcdef");
  Str expect("tim 0123456789abcdef0123456789abcdef");
  expect.push('\0');
  expect.append("good");
  expect.push('\0');
  expect.append(challenge.view());
  expect.push('\0');
  CHECK(cp.got() == expect);
}

TEST_CASE("validrcptto.cdb lookups: address, prefix-default, @domain") {
  test::TempDir dir;
  Str path = dir.file("v.cdb");
  CdbMaker mk;
  REQUIRE(mk.start(path.c_str(), dir.file("v.tmp").c_str()) == 0);
  for (std::string_view k : {"joe@example.org", "joe-lists-default@example.org", "bob-default@example.org",
                             "@catchall.example"})
    REQUIRE(mk.add(k, "") == 0);
  REQUIRE(mk.finish() == 0);
  CdbReader db;
  REQUIRE(db.open(path.c_str()) == 0);
  CHECK(validrcptto_check(db, "joe@example.org") == 1);
  CHECK(validrcptto_check(db, "JOE@Example.ORG") == 1);
  CHECK(validrcptto_check(db, "joe-x@example.org") == 0);
  CHECK(validrcptto_check(db, "joe-lists-qmail@example.org") == 1);
  CHECK(validrcptto_check(db, "joe-lists-@example.org") == 1);
  CHECK(validrcptto_check(db, "joe-lists@example.org") == 0);
  CHECK(validrcptto_check(db, "bob-a-b-c@example.org") == 1);
  CHECK(validrcptto_check(db, "bob@example.org") == 0);
  CHECK(validrcptto_check(db, "anyone@catchall.example") == 1);
  CHECK(validrcptto_check(db, "joe@other.example") == 0);
  CHECK(validrcptto_check(db, "joe") == 0);
}

TEST_CASE("an over-long AUTH line is malformed input") {
  AuthCdb db;
  FakeIo io;
  std::string huge(13000, 'A');
  script(io, {huge});
  Str user, why;
  CHECK(auth_command("LOGIN", io, db.cfg, user, why) == 0);
  CHECK(io.out == "334 VXNlcm5hbWU6\r\n501 malformed auth input (#5.5.4)\r\n");
  CHECK(why == "response line too long");
}
