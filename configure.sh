#!/bin/sh
# configure.sh: make this machine able to build and test qbox.
#
# 1. installs the toolchain and the test peers with apt (when run as root);
# 2. fetches the pinned BearSSL and tinycdb source packages from Debian through
#    a private apt configuration under build/apt, checks their sha256 sums,
#    and builds them as static libraries for musl (and tinycdb for the host,
#    for the unit tests); the result is cached under build/deps;
# 3. writes build/config.ninja, which build.ninja includes.
set -eu

usage() {
  cat <<'EOF'
usage: ./configure.sh [--no-install] [--help]

Prepares the build of qbox: installs the packages the build and the tests
need (apt, as root), builds the pinned BearSSL and tinycdb for musl under
build/deps (cached: a second run is offline), and writes build/config.ninja.

  --no-install   never call apt-get; fail with the install line instead
  --help         print this text

Environment: CXX (host C++ compiler, default g++), CC (host C compiler,
default gcc). Then: ninja (build build/qbox), ninja check (all tests),
ninja bench (benchmarks against the classic programs).
EOF
}

install=yes
for arg in "$@"; do
  case "$arg" in
    --help|-h) usage; exit 0 ;;
    --no-install) install=no ;;
    *) echo "configure.sh: unknown option: $arg" >&2; usage >&2; exit 100 ;;
  esac
done

top=$(cd "$(dirname "$0")" && pwd)
cd "$top"
build=build
mkdir -p "$build"

# Everything the build and the tests use, by Debian package name.
packages="g++ gcc musl-tools musl-dev ninja-build doctest-dev dpkg-dev xz-utils
file python3 python3-pytest daemontools ucspi-tcp tinycdb freecdb util-linux hyperfine s6 binutils strace procps tzdata"
packages="$packages openssl"   # the TLS unit tests talk to openssl s_client and s_server
packages="$packages stunnel4"  # the peer of test/bench/tls_bench.py
packages="$packages swaks libnet-ssleay-perl libdigest-hmac-perl"  # test_smtpd.py's client (--tls, CRAM-MD5)
packages="$packages libcrypt-dev"  # crypt() for the unit tests on glibc (musl has it in libc)
packages="$packages postfix"   # the peer of test/bench/local_delivery_bench.py (its own instance)
packages="$packages libssl-dev"  # test/bench/smtpd_bench.py builds its C STARTTLS client against OpenSSL

missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -n "$missing" ]; then
  line="apt-get install -y$missing"
  if [ "$install" = yes ] && [ "$(id -u)" = 0 ]; then
    echo "configure.sh: installing:$missing"
    apt-get update -q >/dev/null
    case " $missing " in *" postfix "*)
      # No system mail set-up: the benchmark runs a private instance.
      echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections ;;
    esac
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null
    case " $missing " in *" postfix "*)
      # Unconfigured, the package starts nothing; should it have, stop it so
      # that nothing listens on port 25 or takes local mail during the tests.
      if postfix status >/dev/null 2>&1; then postfix stop >/dev/null 2>&1 || true; fi ;;
    esac
  else
    echo "configure.sh: missing packages; as root, run:" >&2
    echo "$line" >&2
    exit 1
  fi
fi

# ---- pinned dependencies -------------------------------------------------
bearssl_ver=0.6+dfsg.1-3
tinycdb_ver=0.78
pins="
bearssl_0.6+dfsg.1-3.dsc 9bd17e07fc9824b0223dcb4ba14adac17981a4d8f1d63b6655819fe8f2ed98d1
bearssl_0.6+dfsg.1.orig.tar.xz 102a625bd8f6155260867a50c508df8d8c3f796985dd744df1a68e5cd1a79004
bearssl_0.6+dfsg.1-3.debian.tar.xz 051264300dffd810e7ea08f8210d3f9f61773dcd322086c0cbd02bee8d1f73df
tinycdb_0.78.dsc a81960f9d8a2c9de37ef4acdee9fda39f20167381f0757e54b7dfd701ad64bc9
tinycdb_0.78.tar.gz 0aa39e0004bf890f429ceed597c781ba47bb603245a2737210b99f1772798079
"
deps="$build/deps"
stamp="bearssl=$bearssl_ver tinycdb=$tinycdb_ver v5"
arch=$(gcc -dumpmachine | sed 's/-gnu$//')   # x86_64-linux
muslarch="$arch-musl"
muslinc=/usr/include/$muslarch
musllib=/usr/lib/$muslarch

verify() { # verify DIR: every pinned file is present with its sum
  echo "$pins" | while read -r f sum; do
    [ -n "$f" ] || continue
    [ -f "$1/$f" ] || return 1
    echo "$sum  $1/$f" | sha256sum -c --quiet - >/dev/null 2>&1 || return 1
  done
}

fetch_sources() {
  src="$deps/src"
  mkdir -p "$src"
  if ! verify "$src"; then
    apt="$top/$build/apt"
    mkdir -p "$apt/lists/partial" "$apt/archives/partial"
    # deb-src twins of the machine's Debian entries; the machine's apt
    # configuration is read, never changed.
    : >"$apt/sources.list"
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] || continue
      grep -E '^deb [^#]*debian' "$f" | sed 's/^deb /deb-src /' >>"$apt/sources.list" || true
    done
    mkdir -p "$apt/sources.list.d"
    rm -f "$apt/sources.list.d/"*
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      grep -q 'debian-archive-keyring' "$f" || continue
      sed 's/^Types:.*/Types: deb-src/' "$f" >"$apt/sources.list.d/$(basename "$f")"
    done
    cat >"$apt/apt.conf" <<EOF
Dir::Etc::sourcelist "$apt/sources.list";
Dir::Etc::sourceparts "$apt/sources.list.d";
Dir::State::Lists "$apt/lists";
Dir::Cache::archives "$apt/archives";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT::Sandbox::User "root";
EOF
    echo "configure.sh: fetching bearssl $bearssl_ver and tinycdb $tinycdb_ver source packages"
    APT_CONFIG="$apt/apt.conf" apt-get update -q >"$apt/update.log" 2>&1 ||
      { echo "configure.sh: apt-get update failed, see $apt/update.log" >&2; exit 111; }
    (cd "$src" && APT_CONFIG="$apt/apt.conf" apt-get source --download-only -q \
        "bearssl=$bearssl_ver" "tinycdb=$tinycdb_ver" >"$apt/source.log" 2>&1) ||
      { echo "configure.sh: apt-get source failed, see $apt/source.log" >&2; exit 111; }
    verify "$src" ||
      { echo "configure.sh: source packages in $src do not match the pinned sha256 sums" >&2; exit 111; }
  fi
  rm -rf "$src/bearssl" "$src/tinycdb"
  dpkg-source -x "$src/bearssl_$bearssl_ver.dsc" "$src/bearssl" >/dev/null 2>&1
  dpkg-source -x "$src/tinycdb_$tinycdb_ver.dsc" "$src/tinycdb" >/dev/null 2>&1
}

compile() { # compile CC OBJDIR SRCDIR CFLAGS FILES...: the objects into OBJDIR
  cc=$1 objdir=$2 dir=$3 flags=$4; shift 4
  printf '%s\n' "$@" | xargs -P "$(nproc)" -I{} sh -c \
    'o="$0/$(echo "{}" | tr / _).o"; '"$cc $flags"' -c "$1/{}" -o "$o"' "$objdir" "$dir"
}

build_lib() { # build_lib CC OUT.a SRCDIR CFLAGS FILES...
  cc=$1 out=$2 dir=$3 flags=$4; shift 4
  objdir="$out.objs"
  rm -rf "$objdir"; mkdir -p "$objdir"
  compile "$cc" "$objdir" "$dir" "$flags" "$@"
  rm -f "$out"
  ar rcs "$out" "$objdir"/*.o
  rm -rf "$objdir"
}

if [ "$(cat "$deps/stamp" 2>/dev/null)" != "$stamp" ] ||
   [ ! -f "$deps/lib/libbearssl.a" ] || [ ! -f "$deps/lib/libcdb.a" ] ||
   [ ! -f "$deps/host/libcdb.a" ] || [ ! -f "$deps/host/libbearssl.a" ]; then
  fetch_sources
  mkdir -p "$deps/lib" "$deps/include" "$deps/host"
  muslcc="gcc -specs=$musllib/musl-gcc.specs"
  cflags="-Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -w"
  # BearSSL's table of cipher suites has room for 48; qbox configures 6.
  # The server walks the whole table for each handshake (~45,000 of its
  # interpreted instructions for the empty slots alone), so the room is
  # cut to 8. The header is the one qbox compiles against, too.
  sed -i 's/^#define BR_MAX_CIPHER_SUITES   48$/#define BR_MAX_CIPHER_SUITES   8/' \
    "$deps/src/bearssl/inc/bearssl_ssl.h"
  grep -q '^#define BR_MAX_CIPHER_SUITES   8$' "$deps/src/bearssl/inc/bearssl_ssl.h" ||
    { echo "configure.sh: could not set BR_MAX_CIPHER_SUITES in bearssl_ssl.h" >&2; exit 111; }
  echo "configure.sh: building BearSSL for musl"
  (cd "$deps/src/bearssl" && find src -name '*.c' | sort) >"$deps/bearssl.files"
  # The handshake's arithmetic (EC, big integers, RSA), hashes, ciphers and
  # the handshake interpreter are built for speed (-O3: about 25% more TLS
  # handshakes per second than -Os); the rest (X.509 and PEM decoding,
  # settings) for size.
  fast='^src/(ec|int|rsa|hash|mac|rand|symcipher|aead|ssl)/'
  objdir="$deps/lib/libbearssl.a.objs"
  rm -rf "$objdir"; mkdir -p "$objdir"
  bflags="-I$deps/src/bearssl/inc -I$deps/src/bearssl/src"
  compile "$muslcc" "$objdir" "$deps/src/bearssl" "$(echo "$cflags" | sed 's/-Os/-O3/') $bflags" \
    $(grep -E "$fast" "$deps/bearssl.files")
  compile "$muslcc" "$objdir" "$deps/src/bearssl" "$cflags $bflags" \
    $(grep -v -E "$fast" "$deps/bearssl.files")
  rm -f "$deps/lib/libbearssl.a"
  ar rcs "$deps/lib/libbearssl.a" "$objdir"/*.o
  rm -rf "$objdir"
  echo "configure.sh: building BearSSL for the host (unit tests)"
  build_lib "${CC:-gcc}" "$deps/host/libbearssl.a" "$deps/src/bearssl" \
    "-O1 -g -w -I$deps/src/bearssl/inc -I$deps/src/bearssl/src" $(cat "$deps/bearssl.files")
  # SHA-256's compression function: qbox's (src/tls/sha256_block.cpp,
  # with the CPU's SHA instructions) replaces BearSSL's portable one for
  # all of BearSSL's SHA-224/256, so BearSSL's becomes a weak symbol.
  for lib in "$deps/lib/libbearssl.a" "$deps/host/libbearssl.a"; do
    objcopy --weaken-symbol=br_sha2small_round "$lib" ||
      { echo "configure.sh: objcopy failed on $lib" >&2; exit 111; }
  done
  echo "configure.sh: building tinycdb for musl and for the host"
  cdbfiles="cdb_init.c cdb_find.c cdb_findnext.c cdb_seq.c cdb_seek.c cdb_unpack.c
            cdb_make.c cdb_make_add.c cdb_make_put.c cdb_hash.c"
  build_lib "$muslcc" "$deps/lib/libcdb.a" "$deps/src/tinycdb" "$cflags" $cdbfiles
  build_lib "${CC:-gcc}" "$deps/host/libcdb.a" "$deps/src/tinycdb" "-O1 -g -w" $cdbfiles
  cp "$deps/src/bearssl/inc/"*.h "$deps/include/"
  cp "$deps/src/tinycdb/cdb.h" "$deps/include/"
  echo "$stamp" >"$deps/stamp"
fi

# ---- build/config.ninja --------------------------------------------------
cxx=${CXX:-g++}
gccver=$($cxx -dumpversion | cut -d. -f1)
gnuarch=$($cxx -dumpmachine)
cat >"$build/config.ninja" <<EOF
# written by configure.sh; do not edit
host_cxx = $cxx
musl_specs = $musllib/musl-gcc.specs
musl_inc = $muslinc
cxx_inc = /usr/include/c++/$gccver
cxx_arch_inc = /usr/include/$gnuarch/c++/$gccver
gcc_inc = $($cxx -print-file-name=include)
depdir = $deps
EOF
echo "configure.sh: wrote $build/config.ninja; now run: ninja, ninja check"
