#!/usr/bin/python3
"""Writes src/tls/p256_table.cpp: the fixed-base comb table of P-256's
generator G that p256.cpp's mulgen reads.

    python3 src/tls/p256_table.py > src/tls/p256_table.cpp

The comb (Lim and Lee): the 256-bit scalar, padded to BLOCKS * TEETH *
SPACING bits, is cut into BLOCKS blocks of TEETH * SPACING bits; tooth t
of block b reads bit (b * TEETH + t) * SPACING + j at step j. Entry v
(1 .. 2^TEETH - 1) of block b's table is the sum of 2^((b * TEETH + t) *
SPACING) * G over the bits t set in v, an affine point whose coordinates
are in Montgomery form (times 2^256 mod p), four 64-bit limbs each, least
significant first. The constants here must match kComb* in p256_table.hpp.
"""

P = 2**256 - 2**224 + 2**192 + 2**96 - 1
A = P - 3
GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
BLOCKS, TEETH, SPACING = 4, 5, 13
assert BLOCKS * TEETH * SPACING >= 256
assert (GY * GY - GX**3 - A * GX - B) % P == 0


def add(p1, p2):
    """Affine addition; None is the point at infinity."""
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2:
        if (y1 + y2) % P == 0:
            return None
        lam = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (lam * lam - x1 - x2) % P
    return x3, (lam * (x1 - x3) - y1) % P


def mul(k, pt):
    acc = None
    while k:
        if k & 1:
            acc = add(acc, pt)
        pt = add(pt, pt)
        k >>= 1
    return acc


def limbs(v):
    v = v * 2**256 % P
    return ", ".join(f"0x{(v >> (64 * i)) & (2**64 - 1):016x}" for i in range(4))


def main():
    print("// Written by src/tls/p256_table.py; do not edit. The comb table of")
    print("// P-256's generator for p256.cpp's mulgen (see the script for its layout).")
    print('#include "tls/p256_table.hpp"')
    print()
    print("namespace qbox::tls::p256 {")
    print()
    print(f"const AffineLimbs kComb[{BLOCKS}][{2**TEETH - 1}] = {{")
    g = (GX, GY)
    for b in range(BLOCKS):
        teeth = [mul(2 ** ((b * TEETH + t) * SPACING), g) for t in range(TEETH)]
        print("    {")
        for v in range(1, 2**TEETH):
            pt = None
            for t in range(TEETH):
                if v >> t & 1:
                    pt = add(pt, teeth[t])
            print(f"        {{{{{limbs(pt[0])}}}, {{{limbs(pt[1])}}}}},")
        print("    },")
    print("};")
    print()
    print("}  // namespace qbox::tls::p256")


if __name__ == "__main__":
    main()
