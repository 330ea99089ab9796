#!/usr/bin/env python3
"""Write the seed corpus of test/fuzz/fuzz_envelope.c into test/fuzz/corpus/.

Deterministic: fixed key, tenant and nonces, the same as the harness's, so
the valid seeds open in fuzz_envelope's parse-and-open path (its context is
the first nonce[0] % 19 bytes of the input, which lie in the header).  Needs
python3 with the "cryptography" package; the output is committed, so only
rerun it after changing the wire format or the harness's constants.

Wire format (src/envelope.h): E7 | format 01 | key version (4, big-endian)
| nonce (12) | ciphertext | tag (16); associated data: header (18) |
tenant id (16) | context.
"""
import os
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY = bytes(range(32))
TENANT = bytes.fromhex("7e7e7e7e000040008000000000000001")
MAGIC = 0xE7
FORMAT = 1
HEADER_LEN = 18
CONTEXT_MOD = HEADER_LEN + 1


def header(version, nonce, magic=MAGIC, fmt=FORMAT):
    return bytes([magic, fmt]) + version.to_bytes(4, "big") + nonce


def seal(version, nonce, plain):
    """An envelope that fuzz_envelope's open path accepts."""
    assert len(nonce) == 12
    hdr = header(version, nonce)
    context = hdr[: nonce[0] % CONTEXT_MOD]
    return hdr + AESGCM(KEY).encrypt(nonce, plain, hdr + TENANT + context)


def nonce(first, fill):
    return bytes([first]) + bytes([fill]) * 11


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    v1_hello = seal(1, nonce(0, 0x11), b"hello, tenant")
    seeds = {
        # valid, open succeeds
        "v1_empty": seal(1, nonce(19, 0x01), b""),
        "v1_hello": v1_hello,
        "v1_context7": seal(1, nonce(7, 0x22), b"0123456789abcdef"),
        "v1_context18_1k": seal(1, nonce(18, 0x33), bytes((i * 7) & 0xFF for i in range(1024))),
        "v2_text": seal(2, nonce(5, 0x44), "sécret café".encode()),
        "v2_16b": seal(2, nonce(12, 0x55), bytes(range(16))),
        "vmax_text": seal(0x7FFFFFFF, nonce(3, 0x66), b"{\"smtp\":\"pw\"}"),
        # malformed
        "truncated_tag": v1_hello[:-1],
        "truncated_header": v1_hello[:HEADER_LEN],
        "bad_magic": bytes([0xE6]) + v1_hello[1:],
        "bad_format": v1_hello[:1] + bytes([2]) + v1_hello[2:],
        "version_zero": header(0, nonce(0, 0x77)) + bytes(16),
        "tampered_ct": v1_hello[:20] + bytes([v1_hello[20] ^ 1]) + v1_hello[21:],
        "magic_only": bytes([MAGIC]),
    }
    for name, data in sorted(seeds.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"make_seeds: wrote {len(seeds)} seeds to {out}")


if __name__ == "__main__":
    main()
