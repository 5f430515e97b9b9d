#!/usr/bin/env python3
"""Writes v1.json: the vault blob format (docs/vault-format.md) computed
independently of the Rust crate, with Python's `cryptography` (OpenSSL) for
ChaCha20-Poly1305 and Argon2id and the standard library for HKDF-SHA256.
XChaCha20 is HChaCha20 (written out below from draft-irtf-cfrg-xchacha)
plus ChaCha20-Poly1305 with the nonce's last 8 bytes.

    python3 crates/continuum-vault/test-vectors/generate.py > crates/continuum-vault/test-vectors/v1.json
"""

import hashlib
import hmac
import json
import struct

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

EXTRACT_SALT = b"continuum-vault/v1/extract"
ITEM_INFO = b"continuum-vault/v1/item-key"
AAD_PREFIX = b"continuum-vault/v1/aad"
VERSION = 1


def rotl(v, n):
    return ((v << n) & 0xFFFFFFFF) | (v >> (32 - n))


def quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 7)


def hchacha20(key, nonce16):
    s = list(struct.unpack("<4I", b"expand 32-byte k") + struct.unpack("<8I", key) + struct.unpack("<4I", nonce16))
    for _ in range(10):
        quarter(s, 0, 4, 8, 12); quarter(s, 1, 5, 9, 13); quarter(s, 2, 6, 10, 14); quarter(s, 3, 7, 11, 15)
        quarter(s, 0, 5, 10, 15); quarter(s, 1, 6, 11, 12); quarter(s, 2, 7, 8, 13); quarter(s, 3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def xchacha20poly1305_seal(key, nonce24, msg, aad):
    subkey = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(subkey).encrypt(b"\0\0\0\0" + nonce24[16:], msg, aad)


def item_key(master, salt):
    prk = hmac.new(EXTRACT_SALT, master, hashlib.sha256).digest()
    return hmac.new(prk, ITEM_INFO + salt + b"\x01", hashlib.sha256).digest()


def aad(wallet, service, name):
    out = AAD_PREFIX + bytes([VERSION])
    for label in (wallet, service, name):
        raw = label.encode()
        out += bytes([len(raw)]) + raw
    return out


def seal(master, wallet, service, name, salt, nonce, plaintext):
    sealed = xchacha20poly1305_seal(item_key(master, salt), nonce, plaintext.encode(), aad(wallet, service, name))
    return bytes([VERSION]) + salt + nonce + sealed


def seal_vector(master, wallet, service, name, salt, nonce, plaintext):
    return {
        "master_key": master.hex(), "wallet": wallet, "service": service, "name": name,
        "salt": salt.hex(), "nonce": nonce.hex(), "plaintext": plaintext,
        "blob": seal(master, wallet, service, name, salt, nonce, plaintext).hex(),
    }


def passphrase_vector(passphrase, salt):
    kdf = Argon2id(salt=salt, length=32, iterations=3, lanes=4, memory_cost=64 * 1024)
    return {"passphrase": passphrase, "salt": salt.hex(), "master_key": kdf.derive(passphrase.encode()).hex()}


if __name__ == "__main__":
    master = bytes(range(32))
    vectors = {
        "seal": [
            seal_vector(master, "persona-ada", "openrouter", "default", bytes(range(16, 32)), bytes(range(32, 56)), "sk-or-v1-test"),
            seal_vector(bytes([0xFF] * 32), "w", "s", "n", bytes(16), bytes(24), "x"),
            seal_vector(master, "persona-" + "a" * 247, "anthropic", "key:2026", bytes([7] * 16), bytes([9] * 24), "a longer secret, with spaces and ünïcode"),
        ],
        "passphrase": [passphrase_vector("correct horse battery staple", b"continuum-salt-1")],
    }
    print(json.dumps(vectors, indent=2))
