"""qmail-inject and sendmail: header completion and rewriting as qmail
does it, printed (-n) or queued through qmail-queue or $QMAILQUEUE, with
notqmail's custom errors from a filter; sendmail's options turned into
qmail-inject's."""
import re

import pytest

from qmailhome import NOBODY, QmailHome

DATE = r"\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d -0000"
ENV = {"USER": "joe", "HOME": "/nonexistent"}


@pytest.fixture
def q():
    with QmailHome() as home:
        home.control("me", "mail.example.org\n")
        yield home


def inject(q, args, message, env=None, **kw):
    e = dict(ENV)
    e.update(env or {})
    return q.run("qmail-inject", args, input=message, env=e, **kw)


def header_and_body(out):
    head, _, body = out.partition(b"\n\n")
    return head.decode("latin-1").split("\n"), body


def envelope_of(todo):
    """(sender, [recipients]) of a todo file."""
    recs = todo.split(b"\0")[:-1]
    sender = next(r[1:] for r in recs if r[:1] == b"F")
    return sender, [r[1:] for r in recs if r[:1] == b"T"]


def test_inject_n_completes_the_header(q):
    r = inject(q, ["-n"], b"Subject: hi\n\nbody\n", env={"QMAILNAME": "Joe User"})
    assert (r.code, r.err) == (0, b"")
    head, body = header_and_body(r.out)
    assert head[0] == "Return-Path: <joe@mail.example.org>"
    assert re.fullmatch("Date: " + DATE, head[1])
    assert re.fullmatch(r"Message-ID: <\d{14}\.\d+\.qmail@mail\.example\.org>", head[2])
    assert head[3] == 'From: "Joe User" <joe@mail.example.org>'
    assert head[4] == "Cc: recipient list not shown: ;"
    assert head[5:] == ["Subject: hi"]
    assert body == b"body\n"


def test_inject_rewrites_addresses_with_controls(q):
    q.control("defaulthost", "host.example\n")
    q.control("defaultdomain", "example.net\n")
    q.control("plusdomain", "plus.example\n")
    q.control("idhost", "id.example\n")
    msg = (b"From: Joe <joe>\nTo: a, b@c, d@e.f, x@[1.2.3.4], y@host+\n"
           b"Cc: (nobody) <>, z@\nReply-To: list@lists.\nSubject: s\n\nb\n")
    r = inject(q, ["-n"], msg)
    head, body = header_and_body(r.out)
    assert head[0] == "Return-Path: <joe@host.example>"
    assert re.fullmatch(r"Message-ID: <\d{14}\.\d+\.qmail@id\.example>", head[2])
    assert head[3:] == [
        "From: Joe <joe@host.example>",
        "To: a@host.example, b@c.example.net, d@e.f, x@[1.2.3.4], y@host.plus.example",
        "Cc: (nobody) <>, z@host.example",
        "Reply-To: list@lists.example.net",
        "Subject: s"]
    # The environment wins over the control files.
    r = inject(q, ["-n"], b"To: a\n\n", env={"QMAILDEFAULTHOST": "h2", "QMAILDEFAULTDOMAIN": "d2"})
    head, _ = header_and_body(r.out)
    assert "To: a@h2.d2" in head


def test_inject_drops_and_keeps_fields(q):
    msg = (b"From some@one Thu Jan  1 00:00:00 1970\nReturn-Path: <x@y.z>\nBcc: hidden@b.c\n"
           b"Content-Length: 99\nX-Mixed: value\n  continued\n\tagain\nDate: today\n"
           b"Message-ID: <mine@here>\n\nbody\n")
    r = inject(q, ["-n", "a@b.c"], msg)
    head, body = header_and_body(r.out)
    assert head == ["Return-Path: <x@y.z>",
                    "From: joe@mail.example.org",
                    "Cc: recipient list not shown: ;",
                    "MBOX-Line: From some@one Thu Jan  1 00:00:00 1970",
                    "X-Mixed: value", "  continued", "\tagain",
                    "Date: today", "Message-ID: <mine@here>"]
    assert body == b"body\n"


@pytest.mark.parametrize("msg,out", [
    (b"", b"\n"),                                   # no header, no body
    (b"Subject: x", b"Subject: x\n"),              # a last line gets its newline
    (b"Subject: x\nno colon here\nmore", b"Subject: x\n\nno colon here\nmore\n"),
    (b" leading blank\n", b"\n leading blank\n"),
    (b"Subject: x\n\n\n\nend", b"Subject: x\n\n\n\nend\n"),
    (b"Subject: x\n\nbin\0ary\r\n", b"Subject: x\n\nbin\0ary\r\n"),
])
def test_inject_header_and_body_split(q, msg, out):
    r = inject(q, ["-n", "-f", "s@e.f", "a@b.c"], msg)
    assert r.code == 0
    assert r.out.endswith(out)
    assert r.out.startswith(b"Return-Path: <s@e.f>\nDate: ")


def test_inject_invalid_and_unparsable_fields(q):
    r = inject(q, ["-n"], b"From: \"unterminated\n\n")
    assert (r.code, r.out) == (100, b"")
    assert r.err == b"qmail-inject: fatal: unable to parse this line:\nFrom: \"unterminated\n"
    # A recipient field that does not parse is kept as it is (notqmail).
    r = inject(q, ["-n"], b"To: \"unterminated\n\n")
    assert r.code == 0
    assert b"\nTo: \"unterminated\n" in r.out
    r = inject(q, ["-n", "a b c\"d"], b"\n")
    assert r.code == 0
    # The local part is quoted first; a domain can still be unparsable.
    r = inject(q, ["-n", "(x"], b"\n")
    assert r.code == 0 and b"Return-Path: <joe@" in r.out
    r = inject(q, ["-n", "a@(x"], b"\n")
    assert (r.code, r.err) == (100, b"qmail-inject: fatal: unable to parse address: a@(x\n")
    r = inject(q, ["-n", "-f", "a@(x"], b"\n")
    assert (r.code, r.err) == (100, b"qmail-inject: fatal: unable to parse this line:\na@(x")
    r = inject(q, ["-z"], b"\n")
    assert (r.code, r.out, r.err) == (100, b"", b"qmail-inject: illegal option -- z\n")


def test_inject_qmailinject_flags(q):
    msg = b"From: x@y.z\nMessage-ID: <m@n>\nReturn-Path: <r@s.t>\n\n"
    r = inject(q, ["-n"], msg, env={"QMAILINJECT": "fis", "QMAILNAME": "Joe Q"})
    head, _ = header_and_body(r.out)
    assert head[0] == "Return-Path: <joe@mail.example.org>"
    assert re.fullmatch(r"Message-ID: <\d{14}\.\d+\.qmail@mail\.example\.org>", head[2])
    assert head[3] == 'From: "Joe Q" <joe@mail.example.org>'
    r = inject(q, ["-n"], b"\n", env={"QMAILINJECT": "c", "QMAILNAME": "Joe Q"})
    assert b"\nFrom: joe@mail.example.org (Joe Q)\n" in r.out
    r = inject(q, ["-n"], b"\n", env={"QMAILINJECT": "r"})
    assert r.out.startswith(b'Return-Path: <"joe-@mail.example.org-"@[]>\n')
    r = inject(q, ["-n"], b"\n", env={"QMAILINJECT": "m", "QMAILSUSER": "bounces",
                                      "QMAILSHOST": "lists.example"})
    assert re.match(rb"Return-Path: <bounces-\d+\.\d+@lists\.example>\n", r.out)
    r = inject(q, ["-n"], b"\n", env={"QMAILUSER": "a b", "QMAILHOST": "h.example"})
    assert b'\nFrom: "a b"@h.example\n' in r.out


def test_inject_resent_fields(q):
    msg = b"From: a@b.c\nTo: x@y.z\nResent-To: r@s.t, u@v.w\nResent-Bcc: h@i.j\n\n"
    r = inject(q, ["-n"], msg)
    head, _ = header_and_body(r.out)
    assert re.fullmatch("Resent-Date: " + DATE, head[1])
    assert head[2].startswith("Resent-Message-ID: <")
    assert head[3] == "Resent-From: joe@mail.example.org"
    assert head[4:] == ["From: a@b.c", "To: x@y.z", "Resent-To: r@s.t, u@v.w"]
    # Queued: the Resent- recipients only, field by field, each field's
    # addresses right to left as qmail reads them.
    r = inject(q, [], msg)
    assert r.code == 0
    ((mess, todo),) = q.messages()
    assert envelope_of(todo) == (b"joe@mail.example.org", [b"u@v.w", b"r@s.t", b"h@i.j"])
    r2 = inject(q, ["-n"], b"Resent-From: a@b.c\n\n")
    assert b"\nResent-Cc: recipient list not shown: ;\n" in r2.out


def test_inject_mail_followup_to(q):
    lists = q.dir / "lists"
    lists.write_text("list@lists.example\n")
    q.chown_all(lists)
    msg = b"To: list@lists.example, other@x.y\nCc: third@z.w\n\n"
    r = inject(q, ["-n"], msg, env={"QMAILMFTFILE": str(lists)})
    # To and Cc as collected (each field right to left), in reverse.
    assert (b"\nMail-Followup-To: third@z.w,\n  list@lists.example,\n  other@x.y\n"
            in r.out)
    r = inject(q, ["-n"], b"To: nolist@x.y\n\n", env={"QMAILMFTFILE": str(lists)})
    assert b"Mail-Followup-To" not in r.out


def test_inject_queues_with_the_right_envelope(q):
    msg = b"To: a@b.c, Dee <d@e.f>\nCc: g@h.i\nBcc: secret@k.l\nSubject: s\n\nbody\n"
    assert inject(q, ["-h"], msg).code == 0
    ((mess, todo),) = q.messages()
    assert envelope_of(todo) == (b"joe@mail.example.org",
                                 [b"d@e.f", b"a@b.c", b"g@h.i", b"secret@k.l"])
    assert todo.startswith(f"u{NOBODY}\0p".encode())
    assert re.match(rb"Received: \(qmail \d+ invoked by uid 65534\); ", mess)
    assert b"secret" not in mess
    assert mess.endswith(b"\nTo: a@b.c, Dee <d@e.f>\nCc: g@h.i\nSubject: s\n\nbody\n")


@pytest.mark.parametrize("args,rcpts", [
    (["x@y.z"], [b"x@y.z"]),                              # -A: arguments win
    (["-a", "x@y.z"], [b"x@y.z"]),
    (["-H", "x@y.z"], [b"x@y.z", b"a@b.c"]),
    (["-h", "x@y.z"], [b"a@b.c"]),
    ([], [b"a@b.c"]),                                     # -A without arguments
    (["-f", "s@t.u", "-N", "x"], [b"x@mail.example.org"]),
])
def test_inject_recipient_strategies(q, args, rcpts):
    assert inject(q, args, b"To: a@b.c\n\n").code == 0
    ((mess, todo),) = q.messages()
    sender, got = envelope_of(todo)
    assert got == rcpts
    assert sender == (b"s@t.u" if "-f" in args else b"joe@mail.example.org")


def test_inject_null_sender_and_return_path(q):
    assert inject(q, ["-f", "", "a@b.c"], b"\n").code == 0
    assert inject(q, ["a@b.c"], b"Return-Path: <r@s.t>\n\n").code == 0
    senders = sorted(envelope_of(todo)[0] for _, todo in q.messages())
    assert senders == [b"", b"r@s.t"]


def test_inject_through_qmailqueue_filters(q):
    keep = q.dir / "seen"
    q.script("bin/filter-ok", f"cat > {keep}.msg; cat <&1 > {keep}.env;"
                              f" exec {q.bin}/qmail-queue <{keep}.msg 1<{keep}.env\n")
    r = inject(q, ["a@b.c"], b"Subject: f\n\nx\n", env={"QMAILQUEUE": "bin/filter-ok"})
    assert (r.code, r.err) == (0, b"")
    assert len(q.messages()) == 1
    assert (q.dir / "seen.env").read_bytes() == b"Fjoe@mail.example.org\0Ta@b.c\0\0"
    q.script("bin/filter-d", "cat >/dev/null; printf 'Dwe do not want this (#5.7.1)' >&6; exit 82\n")
    r = inject(q, ["a@b.c"], b"\n", env={"QMAILQUEUE": "bin/filter-d"})
    assert (r.code, r.err) == (100, b"qmail-inject: fatal: we do not want this (#5.7.1)\n")
    q.script("bin/filter-z", "echo 'Zcome back later (#4.3.0)' >&6; exit 82\n")
    r = inject(q, ["a@b.c"], b"\n", env={"QMAILQUEUE": f"{q.dir}/bin/filter-z"})
    assert (r.code, r.err) == (111, b"qmail-inject: fatal: come back later (#4.3.0)\n")
    q.script("bin/filter-31", "exit 31\n")
    r = inject(q, ["a@b.c"], b"\n", env={"QMAILQUEUE": "bin/filter-31"})
    assert (r.code, r.err) == (
        100, b"qmail-inject: fatal: mail server permanently rejected message (#5.3.0)\n")
    r = inject(q, ["a@b.c"], b"\n", env={"QMAILQUEUE": "bin/missing"})
    assert (r.code, r.err) == (111, b"qmail-inject: fatal: unable to exec qq (#4.3.0)\n")
    assert len(q.messages()) == 1


def test_inject_limits(q):
    # A 64 MiB header field is refused with little memory; a 64 MiB body
    # line goes through.
    lim = ["prlimit", f"--as={48 << 20}"]
    r = inject(q, ["a@b.c"], b"X-Big: " + b"x" * (64 << 20) + b"\n\nbody\n", prefix=lim,
               timeout=300)
    assert (r.code, r.err) == (100, b"qmail-inject: fatal: header too long\n")
    assert q.messages() == []
    r = inject(q, ["a@b.c"], b"Subject: s\n\n" + b"y" * (64 << 20), prefix=lim, timeout=300)
    assert r.code == 0
    ((mess, _),) = q.messages()
    assert mess.endswith(b"y" * 1000 + b"\n")
    # A first line without a colon is body, whatever its length.
    r = inject(q, ["-n", "a@b.c"], b"z" * (20 << 20), prefix=lim, timeout=300)
    assert r.code == 0 and r.out.endswith(b"\n\n" + b"z" * (20 << 20) + b"\n")
    # Many recipients.
    rc = ", ".join(f"user{n}@example.org" for n in range(20000)).encode()
    assert inject(q, ["-h"], b"To: " + rc + b"\n\n", prefix=lim, timeout=300).code == 0


def test_inject_missing_home(q):
    r = inject(q, ["-n"], b"\n", env={"QMAILHOME": str(q.dir / "none")})
    assert (r.code, r.err) == (111, b"qmail-inject: fatal: internal bug\n")


# ---- sendmail ------------------------------------------------------------------

@pytest.fixture
def fake_inject(q):
    """bin/qmail-inject replaced by a script that shows how it was run."""
    q.script("bin/qmail-inject", 'echo "$*"; echo "user=${QMAILUSER-unset} host=${QMAILHOST-unset}'
             ' name=${MAILNAME-unset}"; cat\n')
    return q


@pytest.mark.parametrize("args,argline,envline", [
    (["a@b"], "-a -- a@b", "user=unset host=unset name=unset"),
    (["-t"], "-H --", "user=unset host=unset name=unset"),
    (["-i", "-oi", "-odb", "-v", "-em", "-x", "-B8BITMIME", "-pesmtp", "a@b"], "-a -- a@b",
     "user=unset host=unset name=unset"),
    (["-f", "me@here.example", "a@b"], "-a -f me@here.example -- a@b",
     "user=me host=here.example name=unset"),
    (["-fme", "a"], "-a -f me -- a", "user=me host=unset name=unset"),
    (["-F", "Full Name", "a"], "-a -- a", "user=unset host=unset name=Full Name"),
    (["-F", "Full Name", "-f", "x@y", "a"], "-a -f x@y -- a", "user=x host=y name=unset"),
    (["-Jjunk", "-E", "-bm", "--", "-a"], "-a -- -a", "user=unset host=unset name=unset"),
])
def test_sendmail_runs_qmail_inject(fake_inject, args, argline, envline):
    r = fake_inject.run("sendmail", args, input=b"message\n",
                        env={"MAILNAME": "x"} if "-F" not in args and "-f" in args else None)
    assert r.code == 0, r.err
    assert r.out == f"{argline}\n{envline}\nmessage\n".encode()


def test_sendmail_usage_and_modes(q):
    usage = b"sendmail: usage: sendmail [ -t ] [ -fsender ] [ -Fname ] [ -bp ] [ -bs ] [ arg ... ]\n"
    for bad in (["-bx"], ["-q"], ["-f"]):
        r = q.run("sendmail", bad)
        assert r.code == 100
        assert r.err.endswith(usage)
    # -bp and mailq: qmail-qread.
    q.script("bin/qmail-qread", "echo qread \"$@\"\n")
    assert q.run("sendmail", ["-bp"]).out == b"qread\n"
    assert q.run("mailq").out == b"qread\n"
    # -bs: qmail-smtpd, with a local client's environment unless $PROTO is set.
    q.script("bin/qmail-smtpd", "echo \"$PROTO $RELAYCLIENT. $DATABYTES $TCPREMOTEINFO $TCPLOCALIP\"\n")
    assert q.run("sendmail", ["-bs"]).out == b"TCP . 0 sendmail-bs 127.0.0.1\n"
    assert q.run("sendmail", ["-bs"], env={"PROTO": "X"}).out == b"X .   \n"
    r = q.run("sendmail", ["a"], env={"QMAILHOME": str(q.dir / "none")})
    assert (r.code, r.err) == (111, b"sendmail: fatal: unable to switch to qmail home directory\n")
    (q.dir / "bin" / "qmail-inject").unlink()
    r = q.run("sendmail", ["a"])
    assert (r.code, r.err) == (111, b"sendmail: fatal: unable to run qmail-inject\n")


def test_sendmail_end_to_end(q):
    r = q.run("sendmail", ["-t", "-f", "alerts@box.example", "-F", "The Box"],
              input=b"To: ops@example.org\nSubject: disk\n\nfull\n", env=ENV)
    assert (r.code, r.err) == (0, b"")
    ((mess, todo),) = q.messages()
    assert envelope_of(todo) == (b"alerts@box.example", [b"ops@example.org"])
    # -f replaces -F's name, as in qmail: the From is the sender itself.
    assert b"\nFrom: alerts@box.example\n" in mess
