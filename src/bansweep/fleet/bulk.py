"""Bulk path for large CSV/TSV inventories: rows become verdicts without an Observation per row.

A million-row export has a few thousand distinct (MAC prefix, manufacturer, model, banner, type) combinations;
attribution and policy verdicts are computed once per combination (Attributor caches) and each row only costs a
CSV split, a MAC check, a registry lookup and a dict probe. Findings (with per-row evidence locations) are built
only for rows judged covered or needing review. Rows are merged by MAC within the file only (duplicate rows of a
device); the column mapping is the inventory source's (sources.describe_mapping), so both paths read the same
columns. The general path (sources.parse + attribute.merge) is used for smaller files.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from bansweep import progress
from bansweep.findings import Evidence, InputError, Location, Report
from bansweep.fleet.attribute import Attributed, Attributor, Claim, Decision, Device, evidence_for
from bansweep.fleet.model import Observation, normalise_mac
from bansweep.inputs import InputProblem, read_text
from bansweep.registry.mac import MacHit, MacUnattributable

BULK_MIN_BYTES = 2 * 1024 * 1024
BULK_FORMATS = ("inventory-csv",)
# inventory field -> observation fact (the vocabulary of bansweep.fleet.model)
FIELD_FACTS = {
    "manufacturer": "manufacturer",
    "brand": "brand",
    "model": "model",
    "banner": "service.banner",
    "device_type": "device_type",
}
_CANON_MAC = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")
MAX_FIELD = 1_000_000


def wants(path: Path, fmt: str, mapping: dict[str, str] | None) -> bool:
    if fmt not in BULK_FORMATS or not mapping:
        return False
    try:
        return path.stat().st_size >= BULK_MIN_BYTES
    except OSError:
        return False


def _dialect(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    return max(counts, key=lambda d: counts[d])


def run_file(
    path: Path,
    mapping: dict[str, str],
    attributor: Attributor,
    report: Report,
    tally: object,
    show: bool | None,
) -> None:
    from bansweep.fleet.job import Tally, device_finding

    assert isinstance(tally, Tally)
    name = str(path)
    try:
        text = read_text(path)
    except InputProblem as exc:
        report.errors.append(exc.to_error())
        return
    except OSError as exc:
        report.errors.append(InputError(Location(name), f"cannot read: {exc.strerror or exc}"))
        return
    csv.field_size_limit(MAX_FIELD)
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=_dialect(first))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        report.errors.append(InputError(Location(name, line=1), "no header row"))
        return
    index = {col.strip().lstrip("\ufeff"): i for i, col in enumerate(header)}
    cols: dict[str, int] = {f: index[c] for f, c in mapping.items() if c in index}
    mac_i = cols.get("mac")
    fact_cols = [(FIELD_FACTS[f], i, mapping[f]) for f, i in cols.items() if f in FIELD_FACTS]
    id_cols = [(f, cols[f]) for f in ("ip", "hostname", "serial") if f in cols]
    width = max(cols.values(), default=-1) + 1
    mac_col = mapping.get("mac", "")

    registry = attributor.registry
    cache: dict[tuple[object, ...], tuple[Decision, list[tuple[Claim, str]], bool]] = {}
    by_mac: dict[str, int] = {}  # MAC -> index of its finding (duplicate rows add evidence)
    seen_macs: set[str] = set()
    size = max(len(text) // 64, 1)
    del text
    with progress.progress(f"fleet: {path.name}", total=size, show=show) as bar:
        row_no = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                row_no += 1
                report.errors.append(
                    InputError(Location(name, row=row_no, line=reader.line_num), f"bad CSV row: {exc}")
                )
                continue
            row_no += 1
            if row_no & 0xFFFF == 0:
                bar.advance(0x10000)
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) < width:
                row = row + [""] * (width - len(row))
            mac = None
            hit_key: object = None
            hit_obj = None
            unattributable = ""
            if mac_i is not None:
                raw = row[mac_i].strip()
                if raw:
                    mac = raw.upper() if _CANON_MAC.fullmatch(raw) else normalise_mac(raw)
                    if mac is None:
                        report.errors.append(
                            InputError(Location(name, row=row_no, field=mac_col), f"invalid MAC address {raw[:40]!r}")
                        )
            if mac is not None:
                if mac in seen_macs:
                    if mac in by_mac:
                        _add_duplicate(report, by_mac[mac], name, row_no, mac_col, mac)
                    continue
                seen_macs.add(mac)
                hit = registry.lookup(mac)
                if isinstance(hit, MacUnattributable):
                    unattributable = f"{mac}: {hit.reason}"
                    hit_key = hit.reason
                else:
                    hit_key, hit_obj = hit.prefix, hit
            values = tuple(row[i].strip() for _, i, _ in fact_cols)
            key = (hit_key, values)
            entry = cache.get(key)
            if entry is None:
                entry = cache[key] = _decide(attributor, hit_obj, fact_cols, values, bool(unattributable))
            decision, claim_cols, listed = entry
            dev_ids: dict[str, str] = {f: row[i].strip() for f, i in id_cols if row[i].strip()}
            group = decision.entity.group if decision.entity else None
            tally.count(decision.status, group, ["inventory"], decision.verdicts)
            if unattributable and not decision.attributable:
                tally.unattributable += 1
                tally.unattributable_ids.append(mac or f"{name} row {row_no}")
            if not listed:
                continue
            org = hit_obj.org if hit_obj is not None else ""
            att = _attributed(name, row_no, mac, mac_col, dev_ids, decision, claim_cols, unattributable, org)
            finding = device_finding(att)
            if finding is not None:
                if mac is not None:
                    by_mac[mac] = len(report.findings)
                report.findings.append(finding)


def _decide(
    attributor: Attributor,
    hit: MacHit | None,
    fact_cols: list[tuple[str, int, str]],
    values: tuple[str, ...],
    unattributable: bool,
) -> tuple[Decision, list[tuple[Claim, str]], bool]:
    claim_cols: list[tuple[Claim, str]] = []
    if hit is not None:
        claim_cols.extend((c, "\0mac") for c in attributor.mac_claims(hit))
    for (fact, _, column), value in zip(fact_cols, values, strict=True):
        if value:
            claim_cols.extend((c, column) for c in attributor.claims(fact, value))
    claims = tuple(dict.fromkeys(c for c, _ in claim_cols))
    decision = attributor.decide(claims, unattributable=unattributable)
    model = next((v for (f, _, _), v in zip(fact_cols, values, strict=True) if f == "model" and v), None)
    dtype = next((v for (f, _, _), v in zip(fact_cols, values, strict=True) if f == "device_type" and v), None)
    if (model and model != decision.model) or (dtype and not decision.device_type):
        from dataclasses import replace

        decision = replace(decision, model=model or decision.model, device_type=decision.device_type or dtype)
    listed = not (decision.entity is None and decision.status.value == "not-covered")
    return decision, claim_cols, listed


def _attributed(
    name: str,
    row_no: int,
    mac: str | None,
    mac_col: str,
    ids: dict[str, str],
    decision: Decision,
    claim_cols: list[tuple[Claim, str]],
    unattributable: str,
    org: str,
) -> Attributed:
    located = []
    for claim, column in claim_cols:
        if column == "\0mac":
            located.append((claim, Location(name, row=row_no, field=mac_col), f"{mac} ({org})"))
        else:
            located.append((claim, Location(name, row=row_no, field=column), claim.text))
    obs = Observation("inventory", Location(name, row=row_no), mac=mac, ip=ids.get("ip"))
    device = Device(
        observations=[obs],
        macs=[mac] if mac and not unattributable else [],
        ips=[ids["ip"]] if "ip" in ids else [],
        hostnames=[ids["hostname"]] if "hostname" in ids else [],
        serials=[ids["serial"]] if "serial" in ids else [],
    )
    return Attributed(device, decision, evidence_for(decision, located), [unattributable] if unattributable else [])


def _add_duplicate(report: Report, index: int, name: str, row_no: int, mac_col: str, mac: str) -> None:
    finding = report.findings[index]
    finding.evidence.append(
        Evidence("inventory.duplicate", mac, Location(name, row=row_no, field=mac_col), None, "same MAC in another row")
    )
