#!/usr/bin/python3
"""Writes src/tls/ed25519_table.cpp: the fixed-base comb table that
x25519_base.cpp reads, multiples of the base point of edwards25519 (the
twisted Edwards form of Curve25519, whose u = 9 it maps to).

    python3 src/tls/ed25519_table.py > src/tls/ed25519_table.cpp

The comb is comb_table.py's, with B for base; each entry stored as
(y + x, y - x, 2d * x * y), each the canonical value in four 64-bit
words, least significant first. The constants here must match kComb* in
ed25519_table.hpp.
"""

from comb_table import comb_blocks, words, write

P = 2**255 - 19
D = -121665 * pow(121666, -1, P) % P
BY = 4 * pow(5, -1, P) % P
BLOCKS, TEETH, SPACING = 4, 4, 16
assert BLOCKS * TEETH * SPACING >= 255


def base_x():
    xx = (BY * BY - 1) * pow(D * BY * BY + 1, -1, P) % P
    x = pow(xx, (P + 3) // 8, P)
    if (x * x - xx) % P:
        x = x * pow(2, (P - 1) // 4, P) % P
    assert (x * x - xx) % P == 0
    return P - x if x & 1 else x


def add(p1, p2):
    """Affine addition on -x^2 + y^2 = 1 + d x^2 y^2 (complete)."""
    (x1, y1), (x2, y2) = p1, p2
    t = D * x1 * x2 * y1 * y2 % P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, -1, P) % P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, -1, P) % P
    return x3, y3


def main():
    assert (1 + BY) * pow(1 - BY, -1, P) % P == 9  # X25519's base point
    blocks = comb_blocks((base_x(), BY), add, (0, 1), BLOCKS, TEETH, SPACING)

    def niels(pt):
        x, y = pt
        return (f"{{{{{words((y + x) % P)}}},\n         {{{words((y - x) % P)}}},\n"
                f"         {{{words(2 * D * x * y % P)}}}}}")

    write("ed25519_table.py", "edwards25519's base point for x25519_base.cpp", "qbox::tls::ed25519",
          f"const NielsWords kComb[{BLOCKS}][{2**TEETH - 1}]", blocks, niels)


if __name__ == "__main__":
    main()
