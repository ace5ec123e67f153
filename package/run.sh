#!/bin/sh
# The main job (`ninja run`): a complete mail system in single-uid mode,
# from ./run/, with the embedded default configuration of etc/:
#   svscan supervising qmail-send, qmail-smtpd on 127.0.0.1:2525 (tcpserver
#   with tcp.smtp.cdb) and SMTPS on 127.0.0.1:4650 (sslserver), each with
#   multilog; a local user "demo" with a Maildir.
# The first run sets ./run/ up; later runs reuse it (the queue, the
# mailboxes, the logs). Ctrl-C stops every service and then svscan.
#
#   package/run.sh [--setup-only] [RUNDIR]
#
# Ports and the directory can be changed with SMTP_PORT, SMTPS_PORT and
# RUNDIR. Run as root, the services run as $QBOX_RUNAS (default nobody):
# single-uid mode is one non-root user owning the queue and the mailboxes.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
setup_only=
if [ "${1:-}" = "--setup-only" ]; then setup_only=1; shift; fi
rundir=${1:-${RUNDIR:-$top/run}}
SMTP_IP=127.0.0.1 SMTP_PORT=${SMTP_PORT:-2525}
SMTPS_IP=127.0.0.1 SMTPS_PORT=${SMTPS_PORT:-4650}
qbox=$top/build/qbox

die() { echo "run: fatal: $*" >&2; exit 111; }
[ -x "$qbox" ] || die "$qbox is missing; build it with ninja"

if [ "$(id -u)" = 0 ]; then
  runas=${QBOX_RUNAS:-nobody}
  id "$runas" >/dev/null 2>&1 || die "no user $runas for the services (set QBOX_RUNAS)"
  as_user() { setpriv --reuid="$runas" --regid="$(id -g "$runas")" --clear-groups "$@"; }
else
  runas=
  as_user() { "$@"; }
fi
uid=$(id -u ${runas:+"$runas"})
gid=$(id -g ${runas:+"$runas"})

mkdir -p "$rundir"
rundir=$(cd "$rundir" && pwd)
if [ -n "$runas" ] && ! as_user test -x "$rundir" 2>/dev/null; then
  # A parent (for example /root) is closed to $runas: keep the state where
  # it can reach it, and point ./run at it.
  state=/var/tmp/qbox-run.$(echo "$rundir" | cksum | cut -d' ' -f1)
  echo "run: $runas cannot enter $rundir; keeping the state in $state"
  mkdir -p "$state"
  rmdir "$rundir" 2>/dev/null || true
  [ -e "$rundir" ] || ln -s "$state" "$rundir"
  rundir=$state
fi
home=$rundir/qmail
demo=$rundir/home/demo

# ---- set-up (only what is missing, so a second run reuses the state) -------
mkdir -p "$home/bin" "$home/control" "$home/users" "$home/etc" "$rundir/home"
# A copy of the binary, so the services never depend on the build tree's
# permissions; refreshed when the build is newer.
if [ ! -e "$home/bin/qbox" ] || [ "$qbox" -nt "$home/bin/qbox" ]; then
  cp "$qbox" "$home/bin/qbox.new" && mv -f "$home/bin/qbox.new" "$home/bin/qbox"
  "$home/bin/qbox" --install "$home/bin" >/dev/null
fi
export PATH="$home/bin:/usr/local/bin:/usr/bin:/bin"
c=$home/control
[ -e "$c/me" ] || echo localhost > "$c/me"
# qmail-inject completes a dotless host with defaultdomain.
[ -e "$c/defaultdomain" ] || echo localdomain > "$c/defaultdomain"
[ -e "$c/locals" ] || printf 'localhost\nlocalhost.localdomain\n' > "$c/locals"
[ -e "$c/rcpthosts" ] || printf 'localhost\nlocalhost.localdomain\n' > "$c/rcpthosts"
[ -e "$c/defaultdelivery" ] || echo ./Maildir/ > "$c/defaultdelivery"
[ -e "$c/databytes" ] || echo 20000000 > "$c/databytes"
if [ ! -e "$c/servercert.pem" ]; then
  command -v openssl >/dev/null || die "openssl is needed once, for control/servercert.pem"
  tmp=$(mktemp -d)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null || die "openssl could not make a certificate"
  cat "$tmp/key.pem" "$tmp/cert.pem" > "$c/servercert.pem"
  rm -rf "$tmp"
fi
if [ ! -d "$demo/Maildir" ]; then
  mkdir -p "$demo"
  [ -z "$runas" ] || chown "$uid:$gid" "$demo"
  as_user maildirmake "$demo/Maildir"
fi
# Every address at localhost goes to demo: demo, demo-anything, postmaster.
cat > "$home/users/assign" <<EOF
=demo:demo:$uid:$gid:$demo:::
+demo-:demo:$uid:$gid:$demo:-::
=postmaster:demo:$uid:$gid:$demo:::
=mailer-daemon:demo:$uid:$gid:$demo:::
.
EOF
[ -e "$home/etc/tcp.smtp" ] || cp "$top/etc/tcp.smtp" "$home/etc/tcp.smtp"
tcprules "$home/etc/tcp.smtp.cdb" "$home/etc/tcp.smtp.tmp" < "$home/etc/tcp.smtp"
[ -z "$runas" ] || chown -R "$uid:$gid" "$home/control" "$home/users" "$home/etc"
chmod 600 "$c/servercert.pem"
(cd "$home" && QMAILHOME=$home as_user qmail-newu) || die "qmail-newu failed"
if [ ! -d "$home/queue" ]; then
  if [ -n "$runas" ]; then chown "$uid:$gid" "$home"; fi
  QMAILHOME=$home as_user queue-fix "$home/queue" >/dev/null || die "queue-fix failed"
fi
mkdir -p "$rundir/service"
for s in qmail-send qmail-smtpd qmail-smtpsd; do
  if [ ! -d "$rundir/service/$s" ]; then
    cp -R "$top/etc/service/$s" "$rundir/service/$s.new"
    mkdir -p "$rundir/service/$s.new/log/main"
    [ -z "$runas" ] || chown -R "$uid:$gid" "$rundir/service/$s.new/log/main"
    mv "$rundir/service/$s.new" "$rundir/service/$s"
  fi
done
[ -z "$setup_only" ] || exit 0

# ---- run ------------------------------------------------------------------------
export QMAILHOME=$home SMTP_IP SMTP_PORT SMTPS_IP SMTPS_PORT
[ -z "$runas" ] || export QBOX_RUNAS=$runas
cat <<EOF
qbox is running from $rundir (Ctrl-C stops it):
  SMTP   127.0.0.1:$SMTP_PORT   SMTPS 127.0.0.1:$SMTPS_PORT   (logs: $rundir/service/*/log/main/current)
Send a message, for example with swaks:
  swaks --server 127.0.0.1:$SMTP_PORT --from you@example.org --to demo@localhost
  swaks --server 127.0.0.1:$SMTP_PORT --tls --to demo@localhost
  swaks --server 127.0.0.1:$SMTPS_PORT --tlsc --to demo@localhost
or with the sendmail of this installation:
  printf 'Subject: hi\n\nhello\n' | ${runas:+setuidgid $runas }env QMAILHOME=$home $home/bin/sendmail demo@localhost
It lands in $demo/Maildir/new/
EOF

# svscan in a session of its own: Ctrl-C reaches only this script, which
# then takes the services down in order.
setsid svscan "$rundir/service" </dev/null &
scan=$!
stop() {
  trap '' INT TERM
  echo "run: stopping the services"
  svc -dx "$rundir"/service/* 2>/dev/null || true
  i=0
  while [ $i -lt 100 ]; do
    up=
    for s in "$rundir"/service/*; do svok "$s" 2>/dev/null && up=1; done
    [ -z "$up" ] && break
    sleep 0.1; i=$((i + 1))
  done
  svc -dx "$rundir"/service/*/log 2>/dev/null || true
  i=0
  while [ $i -lt 50 ]; do
    up=
    for s in "$rundir"/service/*/log; do svok "$s" 2>/dev/null && up=1; done
    [ -z "$up" ] && break
    sleep 0.1; i=$((i + 1))
  done
  kill "$scan" 2>/dev/null || true
  wait "$scan" 2>/dev/null || true
  echo "run: stopped"
  exit 0
}
trap stop INT TERM
wait "$scan" || true
