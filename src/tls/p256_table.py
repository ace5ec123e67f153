#!/usr/bin/python3
"""Writes src/tls/p256_table.cpp: the fixed-base comb table of P-256's
generator G that p256.cpp's mulgen reads.

    python3 src/tls/p256_table.py > src/tls/p256_table.cpp

The comb is comb_table.py's, with G for base; each entry an affine
point whose coordinates are in Montgomery form (times 2^256 mod p), four
64-bit limbs each, least significant first. The constants here must match kComb* in p256_table.hpp.
"""

from comb_table import comb_blocks, words, write

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


def limbs(v):
    return words(v * 2**256 % P)  # Montgomery form


def main():
    blocks = comb_blocks((GX, GY), add, None, BLOCKS, TEETH, SPACING)
    write("p256_table.py", "P-256's generator for p256.cpp's mulgen", "qbox::tls::p256",
          f"const AffineLimbs kComb[{BLOCKS}][{2**TEETH - 1}]", blocks,
          lambda pt: f"{{{{{limbs(pt[0])}}}, {{{limbs(pt[1])}}}}}")


if __name__ == "__main__":
    main()
