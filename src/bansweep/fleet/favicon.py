"""Favicon hashes in the two forms scanners print them.

- MD5 of the icon bytes, upper-case hex: what nmap's `http-favicon` script computes (and looks up in its
  nselib/data/favicon-db) and what many fingerprint collections list;
- Shodan's `http.favicon.hash`: MurmurHash3 (x86, 32-bit, seed 0) of the icon's MIME base64 text (76-character lines,
  each ending in a newline, as Python's base64.encodebytes writes it), as a signed 32-bit integer.

`normalise` turns what an input says about a favicon into one of those two forms, so knowledge patterns match it.
"""

from __future__ import annotations

import base64
import hashlib
import re

_MD5 = re.compile(r"\b([0-9A-Fa-f]{32})\b")
_INT = re.compile(r"^[+-]?\d{1,10}$")
_MASK = 0xFFFFFFFF


def md5(icon: bytes) -> str:
    return hashlib.md5(icon, usedforsecurity=False).hexdigest().upper()


def shodan_hash(icon: bytes) -> int:
    """Shodan's favicon hash: mmh3 of the MIME base64 text of the icon."""
    return murmur3_32(base64.encodebytes(icon))


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit, as a signed integer (the form Shodan and the mmh3 package print)."""
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & _MASK
    end = len(data) - len(data) % 4
    for i in range(0, end, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * c1) & _MASK
        k = ((k << 15) | (k >> 17)) & _MASK
        k = (k * c2) & _MASK
        h ^= k
        h = ((h << 13) | (h >> 19)) & _MASK
        h = (h * 5 + 0xE6546B64) & _MASK
    tail = data[end:]
    if tail:
        k = int.from_bytes(tail, "little")
        k = (k * c1) & _MASK
        k = ((k << 15) | (k >> 17)) & _MASK
        k = (k * c2) & _MASK
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def normalise(text: str) -> str:
    """'Unknown favicon MD5: 89b9…' -> '89B9…'; '3294509719' (unsigned) -> '-1000457577' (Shodan's signed form);
    anything else (nmap's favicon-db name for a known icon) unchanged."""
    value = text.strip()
    if _INT.match(value):
        number = int(value)
        if -(1 << 31) <= number < (1 << 32):
            return str(number - (1 << 32) if number >= (1 << 31) else number)
        return value
    m = _MD5.search(value)
    if m and ("md5" in value.lower() or len(value) == 32):
        return m.group(1).upper()
    return value
