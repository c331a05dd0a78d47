"""Judging devices with the same evidence once (job.Outcomes): a device judged from the kept outcome of another
gets what judging it alone gives, its own places, identifiers and context included; devices that differ in any
input that decides the outcome are judged apart. Uses the real knowledge base, MAC registry and policies."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import pytest

from bansweep.findings import Location
from bansweep.fleet import context
from bansweep.fleet.attribute import Attributor
from bansweep.fleet.identity import Device
from bansweep.fleet.job import Outcomes, judge_device
from bansweep.fleet.model import Observation
from bansweep.knowledge.vendors import VendorKB
from bansweep.policy.fleet import PolicyStage
from bansweep.registry.mac import MacRegistry

AS_OF = "2026-11-22"


def record(
    source: str = "inventory",
    row: int = 2,
    *,
    mac: str | None = "44:19:B6:3A:10:15",
    ip: str | None = "10.0.0.5",
    lines: dict[str, int] | None = None,
    columns: dict[str, str] | None = None,
    context_values: dict[str, str] | None = None,
    **facts: str,
) -> Observation:
    named = {k.replace("__", "."): v for k, v in facts.items()}
    fields = {k: k.title() for k in [*named, *(context_values or {}), "mac"]} | (columns or {})
    obs = Observation(source, Location(f"{source}.csv", row=row), mac=mac, ip=ip, facts=named, fields=fields)
    if lines:
        obs.lines = lines
    if context_values:
        obs.context = context_values
    return obs


def device(*observations: Observation, first: int = 0) -> Device:
    macs = list(dict.fromkeys(o.mac for o in observations if o.mac))
    ips = list(dict.fromkeys(o.ip for o in observations if o.ip))
    return Device(list(observations), macs, ips, first=first)


def judged(devices: list[Device], cached: bool) -> tuple[list[tuple[Any, ...]], Outcomes]:
    """Each device's unit (what the summary counts) and finding, judged with or without kept outcomes."""
    attributor = Attributor(VendorKB.load(), MacRegistry.load(), AS_OF)
    stage = PolicyStage(["us-889", "fcc"], AS_OF)
    made: dict[Hashable, Any] = {}
    outcomes = Outcomes(attributor, made)
    out = []
    for dev in devices:
        unit, finding = judge_device(
            dev, attributor, stage, context.status_words(), False, made, outcomes if cached else None
        )
        counted = (unit.position, unit.decision, unit.judged.key, unit.sources, unit.unattributable, unit.in_use)
        out.append((counted, finding.to_dict()))
    return out, outcomes


HIK = {"manufacturer": "Hikvision", "model": "DS-2CD2143G2-IS"}
LOREX = {"manufacturer": "Lorex", "model": "N841"}

# pairs of devices that differ only in one input that decides the outcome, and what differs in the finding
PAIRS: dict[str, tuple[Device, Device, str]] = {
    "model": (device(record(**HIK)), device(record(manufacturer="Hikvision", model="DS-7608NI")), "title"),
    "maker": (device(record(**HIK)), device(record(manufacturer="Dahua", model="DS-2CD2143G2-IS")), "title"),
    "device type": (device(record(device_type="camera", **HIK)), device(record(device_type="NVR", **HIK)), "title"),
    "model read by no pattern": (
        device(record(manufacturer="Hikvision", model="Custom-1")),
        device(record(manufacturer="Hikvision", model="Custom-2")),
        "title",
    ),
    "source": (device(record(**HIK)), device(record("cmdb", **HIK)), "tags"),
    "column": (device(record(**HIK)), device(record(columns={"manufacturer": "Vendor"}, **HIK)), "evidence"),
    "MAC column": (device(record(**HIK)), device(record(columns={"mac": "MAC Address"}, **HIK)), "evidence"),
    "record": (
        device(record("nmap", 1, ip=None), record(**HIK)),
        device(record(**HIK), record("nmap", 1, ip=None)),
        "evidence",
    ),
    "record of the MAC": (
        device(record(mac=None, **HIK), record("nmap", 1, ip=None), record("dhcp", 1, mac=None)),
        device(record(mac=None, **HIK), record("dhcp", 1, mac=None), record("nmap", 3, ip=None)),
        "evidence",
    ),
    "purchase date": (
        device(record(context_values={"purchase_date": "2019-05-02"}, **LOREX)),
        device(record(context_values={"purchase_date": "2017-01-03"}, **LOREX)),
        "verdicts",
    ),
    "dated or not": (
        device(record(context_values={"purchase_date": "2017-01-03"}, **LOREX)),
        device(record(context_values={"location": "Depot"}, **LOREX)),
        "verdicts",
    ),
    "install status": (
        device(record(context_values={"install_status": "Installed"}, **HIK)),
        device(record(context_values={"install_status": "Retired"}, **HIK)),
        "tags",
    ),
    "a second MAC of the same block": (
        device(record(**HIK), record("nmap", 1, mac="44:19:B6:00:00:02", ip=None)),
        device(record(**HIK), record("nmap", 1, mac="44:19:B6:00:00:03", ip=None)),
        "evidence",
    ),
    "MAC of the same block": (
        device(record(**HIK)),
        device(record(mac="44:19:B6:00:00:01", **HIK)),
        "evidence",
    ),
    "a second MAC": (
        device(record(**HIK), record("nmap", 1, mac="00:E0:FC:00:00:02", ip=None)),
        device(record(**HIK), record("nmap", 1, mac="00:E0:FC:00:00:03", ip=None)),
        "evidence",
    ),
    "own line": (
        device(record("snmpwalk", None, lines={"snmp.sysdescr": 6}, snmp__sysdescr="Hikvision DS-7608NI")),
        device(record("snmpwalk", None, lines={"snmp.sysdescr": 14}, snmp__sysdescr="Hikvision DS-7608NI")),
        "evidence",
    ),
    "row": (device(record(row=2, **HIK)), device(record(row=3, **HIK)), "evidence"),
    "address": (device(record(**HIK)), device(record(ip="10.0.0.6", **HIK)), "subject"),
    "why a MAC cannot be attributed": (
        device(record(mac="02:11:22:33:44:55", **HIK)),
        device(record(mac="03:11:22:33:44:55", **HIK)),
        "explanation",
    ),
    "randomised MAC beside a known one": (
        device(record(**HIK), record("nmap", 1, mac="02:11:22:33:44:55", ip=None)),
        device(record(**HIK), record("nmap", 1, mac="02:11:22:33:44:66", ip=None)),
        "explanation",
    ),
    "randomised MAC first or second": (
        device(record(mac="02:11:22:33:44:55", **HIK), record("nmap", 1, ip=None)),
        device(record("nmap", 1, ip=None), record(mac="02:11:22:33:44:55", **HIK)),
        "subject",
    ),
    "randomised MAC": (
        device(record(mac="02:11:22:33:44:55", **HIK)),
        device(record(mac="02:11:22:33:44:66", **HIK)),
        "explanation",
    ),
}


@pytest.mark.parametrize("name", list(PAIRS))
def test_devices_that_differ_in_one_deciding_input_are_judged_apart(name: str) -> None:
    a, b, differs = PAIRS[name]
    twice = [a, b, device(*a.observations), device(*b.observations)]  # the second of each from what is kept
    cached, outcomes = judged(twice, cached=True)
    alone, _ = judged(twice, cached=False)
    assert cached == alone
    (_, first), (_, second) = cached[:2]
    assert first[differs] != second[differs]
    assert cached[0] == cached[2] and cached[1] == cached[3]
    assert len(outcomes.kept) <= 2  # the second of each judged from what is kept


def test_devices_with_the_same_evidence_share_one_outcome_and_keep_their_own_places() -> None:
    devices = [
        device(record(row=n, mac=f"44:19:B6:00:00:{n:02X}", ip=f"10.0.0.{n}", **HIK), first=n) for n in range(2, 50)
    ]
    cached, outcomes = judged(devices, cached=True)
    assert cached == judged(devices, cached=False)[0]
    assert len(outcomes.kept) == 1  # judged once
    for n, (_, finding) in zip(range(2, 50), cached, strict=True):
        assert {e["location"]["row"] for e in finding["evidence"]} == {n}
        assert finding["evidence"][-1]["value"].startswith(f"44:19:B6:00:00:{n:02X} (")
        assert finding["subject"]["attributes"]["ip"] == f"10.0.0.{n}"


@pytest.mark.parametrize("facts", [HIK, {}])
def test_devices_with_a_randomised_mac_name_their_own(facts: dict[str, str]) -> None:
    devices = [device(record(row=n, mac=f"02:00:00:00:00:{n:02X}", **facts), first=n) for n in range(2, 20)]
    cached, outcomes = judged(devices, cached=True)
    assert cached == judged(devices, cached=False)[0]
    assert len(outcomes.kept) == 1
    for n, (counted, finding) in zip(range(2, 20), cached, strict=True):
        mac = f"02:00:00:00:00:{n:02X}"
        assert finding["extra"]["unattributable_macs"] == [
            f"{mac}: locally administered (randomised or private) address"
        ]
        assert mac in finding["explanation"]
        assert n == 2 or "02:00:00:00:00:02" not in finding["explanation"]
        assert counted[4] == (not facts)  # counted as unattributable when nothing else names a maker


def test_every_pair_and_mix_judged_alike_with_and_without_kept_outcomes() -> None:
    devices = [dev for a, b, _ in PAIRS.values() for dev in (a, b)]
    devices += [device(*dev.observations) for dev in reversed(devices)]
    assert judged(devices, cached=True)[0] == judged(devices, cached=False)[0]
