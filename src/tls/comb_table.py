"""What p256_table.py and ed25519_table.py share: the comb (Lim and Lee)
table of a base point, and the C++ file that holds it.

The scalar, padded to blocks * teeth * spacing bits, is cut into blocks
of teeth * spacing bits; tooth t of block b reads bit (b * teeth + t) *
spacing + j at step j. Entry v (1 .. 2^teeth - 1) of block b's table is
the sum of 2^((b * teeth + t) * spacing) * base over the bits t set in v.
"""


def multiply(k, pt, add, zero):
    acc = zero
    while k:
        if k & 1:
            acc = add(acc, pt)
        pt = add(pt, pt)
        k >>= 1
    return acc


def comb_blocks(base, add, zero, blocks, teeth, spacing):
    """Each block's entries 1 .. 2^teeth - 1, as affine points."""
    for b in range(blocks):
        tooth = [multiply(2 ** ((b * teeth + t) * spacing), base, add, zero) for t in range(teeth)]
        entries = []
        for v in range(1, 2**teeth):
            pt = zero
            for t in range(teeth):
                if v >> t & 1:
                    pt = add(pt, tooth[t])
            entries.append(pt)
        yield entries


def words(v):
    """v as four 64-bit words in C++, least significant first."""
    return ", ".join(f"0x{(v >> (64 * i)) & (2**64 - 1):016x}" for i in range(4))


def write(script, what, namespace, decl, blocks, entry_text):
    """Prints the C++ file: blocks of entries, entry_text(pt) each."""
    print(f"// Written by src/tls/{script}; do not edit. The comb table of")
    print(f"// {what} (see the script for its layout).")
    print(f'#include "tls/{script.removesuffix(".py")}.hpp"')
    print()
    print(f"namespace {namespace} {{")
    print()
    print(f"{decl} = {{")
    for entries in blocks:
        print("    {")
        for pt in entries:
            print(f"        {entry_text(pt)},")
        print("    },")
    print("};")
    print()
    print(f"}}  // namespace {namespace}")
