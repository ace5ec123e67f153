#!/usr/bin/python3
"""A small scripted DNS server for tests, on UDP and TCP of one loopback port.

    dnsserver.py [--ipv6] [--host ADDR] [--port N] ZONE

It listens on 127.0.0.1 (::1 with --ipv6) or ADDR, on a free port or N.

ZONE is JSON text (or the name of a file holding it) mapping names to
records and behaviours:

    {"a.test":   {"A": ["192.0.2.1"], "AAAA": ["2001:db8::1"],
                  "MX": [[10, "mx.test"]], "TXT": [["part 1", "part 2"]],
                  "PTR": ["host.test"], "CNAME": "b.test"},
     "slow.test": {"mode": "drop"},
     "*":         {"mode": "servfail"}}

A name that is absent gets NXDOMAIN (unless "*" gives it a mode); a name
without records of the type asked gets NOERROR and no answers. CNAMEs are
followed as a recursive server does. Modes:

    truncate   over UDP only a truncated reply (TC); the answer over TCP
    drop       no reply at all
    wrongid    over UDP first a reply with another ID (and address
               203.0.113.66), then the right one
    wrongname  a reply whose question is another name, and nothing else
    otherport  the right reply, but sent from another port
    servfail, refused, nxdomain   that rcode
    loop       a reply whose answer has a compression pointer to itself

Replies over 512 bytes are truncated over UDP, as without EDNS. The server
prints its port on the first line of stdout, then one line per query:
"udp|tcp NAME TYPE ID SOURCEPORT". It stops at the end of its stdin.
"""
import ipaddress
import json
import os
import selectors
import socket
import struct
import sys

TYPES = {"A": 1, "CNAME": 5, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}
TYPE_NAMES = {v: k for k, v in TYPES.items()}


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            b = label.encode()
            out += bytes([len(b)]) + b
    return out + b"\0"


def read_name(pkt, pos):
    labels = []
    while True:
        n = pkt[pos]
        if n == 0:
            return ".".join(labels), pos + 1
        if n >= 0xC0:
            raise ValueError("compressed question")
        labels.append(pkt[pos + 1:pos + 1 + n].decode("latin-1"))
        pos += 1 + n


def rdata(rtype, value):
    if rtype == "A":
        return ipaddress.IPv4Address(value).packed
    if rtype == "AAAA":
        return ipaddress.IPv6Address(value).packed
    if rtype in ("PTR", "CNAME"):
        return wire_name(value)
    if rtype == "MX":
        return struct.pack(">H", value[0]) + wire_name(value[1])
    if rtype == "TXT":
        return b"".join(bytes([len(s.encode())]) + s.encode() for s in value)
    raise ValueError(rtype)


def rr(owner, rtype, data):
    return owner + struct.pack(">HHIH", TYPES[rtype], 1, 300, len(data)) + data


class Server:
    def __init__(self, zone, family, host=None, port=0):
        self.zone = {k.lower().rstrip("."): v for k, v in zone.items()}
        host = host or ("::1" if family == socket.AF_INET6 else "127.0.0.1")
        while True:  # the same free port for UDP and TCP
            self.udp = socket.socket(family, socket.SOCK_DGRAM)
            self.udp.bind((host, port))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(family, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind((host, self.port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
                if port:
                    raise
        self.tcp.listen(16)
        self.other = socket.socket(family, socket.SOCK_DGRAM)
        self.other.bind((host, 0))

    def entry(self, name):
        return self.zone.get(name.lower(), self.zone.get("*"))

    def answer(self, query, proto):
        """The replies to send for one query, as a list of packets."""
        qid, flags = struct.unpack(">HH", query[:4])
        qname, pos = read_name(query, 12)
        qtype, = struct.unpack(">H", query[pos:pos + 2])
        question = query[12:pos + 4]
        sport = self.peer[1] if proto == "udp" else 0
        print(proto, qname, TYPE_NAMES.get(qtype, qtype), qid, sport, flush=True)
        entry = self.entry(qname) or {}
        mode = entry.get("mode")

        def packet(rcode=0, answers=(), tc=False, pid=qid, q=question):
            f = 0x8000 | (flags & 0x0100) | 0x0080 | rcode | (0x0200 if tc else 0)
            return struct.pack(">HHHHHH", pid, f, 1, len(answers), 0, 0) + q + b"".join(answers)

        if mode == "drop":
            return []
        if mode in ("servfail", "refused", "nxdomain"):
            return [packet({"servfail": 2, "refused": 5, "nxdomain": 3}[mode])]
        if mode == "wrongname":
            return [packet(q=wire_name("x" + qname) + question[-4:])]
        if mode == "loop":
            here = 12 + len(question)
            bad = struct.pack(">H", 0xC000 | here) + struct.pack(">HHIH", qtype, 1, 300, 4) + b"\1\2\3\4"
            return [packet(answers=[bad])]
        if mode == "truncate" and proto == "udp":
            return [packet(tc=True)]

        answers, name, rcode = [], qname, 0
        for _ in range(10):
            e = self.entry(name)
            if e is None:
                rcode = 3
                break
            owner = b"\xc0\x0c" if name == qname else wire_name(name)
            if "CNAME" in e and qtype != TYPES["CNAME"]:
                answers.append(rr(owner, "CNAME", rdata("CNAME", e["CNAME"])))
                name = e["CNAME"]
                continue
            tname = TYPE_NAMES.get(qtype)
            for value in e.get(tname, []) if tname else []:
                answers.append(rr(owner, tname, rdata(tname, value)))
            break
        reply = packet(rcode, answers)
        if proto == "udp" and len(reply) > 512:
            reply = packet(rcode, tc=True)
        if mode == "wrongid" and proto == "udp":
            fake = rr(b"\xc0\x0c", "A", rdata("A", "203.0.113.66"))
            return [packet(answers=[fake], pid=qid ^ 0x5555), reply]
        if mode == "otherport" and proto == "udp":
            return [("other", reply)]
        return [reply]

    def serve_udp(self):
        query, self.peer = self.udp.recvfrom(65535)
        for reply in self.answer(query, "udp"):
            if isinstance(reply, tuple):
                self.other.sendto(reply[1], self.peer)
            else:
                self.udp.sendto(reply, self.peer)

    def serve_tcp(self):
        conn, self.peer = self.tcp.accept()
        with conn:
            conn.settimeout(5)
            try:
                data = b""
                while len(data) < 2 or len(data) < 2 + struct.unpack(">H", data[:2])[0]:
                    chunk = conn.recv(65535)
                    if not chunk:
                        return
                    data += chunk
                for reply in self.answer(data[2:], "tcp"):
                    conn.sendall(struct.pack(">H", len(reply)) + reply)
            except OSError:
                pass

    def run(self):
        sel = selectors.DefaultSelector()
        sel.register(self.udp, selectors.EVENT_READ, self.serve_udp)
        sel.register(self.tcp, selectors.EVENT_READ, self.serve_tcp)
        sel.register(sys.stdin.buffer, selectors.EVENT_READ, None)
        print(self.port, flush=True)
        while True:
            for key, _ in sel.select():
                if key.data is None:
                    if not os.read(sys.stdin.fileno(), 4096):
                        return
                else:
                    key.data()


def main(argv):
    family, host, port = socket.AF_INET, None, 0
    while argv and argv[0].startswith("--"):
        if argv[0] == "--ipv6":
            family = socket.AF_INET6
            argv = argv[1:]
        elif argv[0] in ("--host", "--port") and len(argv) > 1:
            if argv[0] == "--host":
                host = argv[1]
            else:
                port = int(argv[1])
            argv = argv[2:]
        else:
            break
    if len(argv) != 1:
        sys.exit("usage: dnsserver.py [--ipv6] [--host ADDR] [--port N] ZONE")
    text = argv[0]
    if not text.lstrip().startswith("{"):
        with open(text) as f:
            text = f.read()
    Server(json.loads(text), family, host, port).run()


if __name__ == "__main__":
    main(sys.argv[1:])
