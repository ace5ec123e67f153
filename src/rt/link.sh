#!/bin/sh
# link.sh OUT "ID..." LINKER ARG...: links OUT with LINKER ARG... (a static
# link with --gc-sections whose objects include applets/main.o), with the
# code the applets of those ids (applets/list.def) can run placed first,
# in one block.
#
# Why: every process of the multi-call binary maps the whole file, and the
# kernel maps each page of the text it touches together with the pages
# around it (fault-around, 64 KiB), so a qmail-smtpd session had nearly all
# of the binary resident, its code being spread among everyone's. Grouped,
# the pages its sessions touch are few and the rest stays unmapped.
#
# How: a first link keeps only what an applet's AppletInfo reaches (the
# applet table in main.o, which reaches every applet, is left out and main
# is defined as 0: that binary never runs); its map lists the text input
# sections kept. Those go into a linker script that puts them in an output
# section .text.order inserted before .text, for the second, real link.
# C++ functions of external linkage are matched by name in any object (an
# inline function's copy may come from another object in the real link);
# anything else by object and name. main.o's and table.o's own code (the
# dispatch) goes into the block too. The block's order is the first map's.
set -eu
[ $# -ge 3 ] || { echo "usage: link.sh OUT \"ID...\" LINKER ARG..." >&2; exit 100; }
out=$1 first=$2
shift 2

# The arguments without applets/main.o, for the first links (the for
# list is expanded once: the new arguments go after the old, which are
# then shifted away); the real link gets main.o back at the end.
n=$#
main=
for a in "$@"; do
  case "$a" in
    */applets/main.o) main=$a ;;
    *) set -- "$@" "$a" ;;
  esac
done
shift "$n"
: "${main:?link.sh: no applets/main.o among the objects}"
table=${main%main.o}table.o

script=$out.order.ld
tmp=$out.order.tmp
trap 'rm -f "$tmp" "$tmp.map"' EXIT
{
  echo "/* Written by src/rt/link.sh: the code of $first first. */"
  echo "SECTIONS {"
  echo "  .text.order : {"
  for id in $first; do
    "$@" -o "$tmp" -Wl,-Map="$tmp.map" -Wl,--defsym=main=0 -Wl,--require-defined="applet_$id"
    awk -f - "$tmp.map" <<'EOF'
# The .text input sections of a GNU ld map, as input section descriptions.
/^Linker script and memory map/ { inmap = 1; next }
!inmap { next }
/^\.text([ \t]|$)/ { intext = 1; next }
/^[^ \t]/ { intext = 0; next }
!intext { next }
/^ \.text/ { sec = $1; if (NF >= 4) { put(sec, $4, $3); sec = "" }; next }
sec != "" && /^ +0x/ { if (NF >= 3) put(sec, $3, $2); sec = ""; next }
function put(s, file, size,   part, n) {
  if (size == "0x0") return
  if (s ~ /^\.text\._Z/ && s !~ /_GLOBAL__N_/) { print "    *(" s ")"; return }
  n = split(file, part, "(")
  if (n > 1) {  # archive(member): *archive.a:member, whatever the directory
    sub(/\)$/, "", part[2]); sub(/.*\//, "", part[1])
    file = "*" part[1] ":" part[2]
  }
  print "    " file "(" s ")"
}
EOF
  done
  echo "    $main(.text .text.*)"
  echo "    $table(.text .text.*)"
  echo "  }"
  echo "} INSERT BEFORE .text;"
} >"$script"
exec "$@" "$main" -o "$out" -Wl,-T,"$script"
