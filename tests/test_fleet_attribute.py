"""Attribution: merging observations across sources, evidence, conflicts and relabels, randomised MACs, chip
vendors, ownership dates. Uses the real knowledge base, MAC registry and policies."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bansweep.findings import Location, Status
from bansweep.fleet.attribute import Attributed, Attributor, attribute
from bansweep.fleet.fingerprints import Recog
from bansweep.fleet.identity import merge
from bansweep.fleet.model import Observation
from bansweep.knowledge.vendors import VendorKB
from bansweep.policy.fleet import Judged, PolicyStage, policy_stage
from bansweep.registry.mac import MacRegistry

RECOG = Path(__file__).parent / "fixtures" / "recog"


def obs(
    source: str,
    n: int,
    *,
    mac: str | None = None,
    ip: str | None = None,
    hostname: str | None = None,
    serial: str | None = None,
    **facts: str,
) -> Observation:
    named = {k.replace("__", "."): v for k, v in facts.items()}
    return Observation(
        source,
        Location(f"{source}.txt", row=n),
        mac=mac,
        ip=ip,
        hostname=hostname,
        serial=serial,
        facts=named,
        fields={k: k.upper() for k in named},
    )


@pytest.fixture(scope="module")
def attributor() -> Attributor:
    return Attributor(VendorKB.load(), MacRegistry.load(), "2026-11-22", Recog.load([RECOG]))


def judged(att: Attributed, policies: tuple[str, ...] = ("us-889", "fcc"), as_of: str = "2026-11-22") -> Judged:
    """The policy stage's verdicts on an attribution (attribution itself gives facts only)."""
    return policy_stage(att.decision, policies, as_of)


def one(attributor: Attributor, *observations: Observation):  # noqa: ANN201
    devices = merge(list(observations))
    assert len(devices) == 1, [d.id for d in devices]
    return attribute(attributor, devices[0])


def test_merge_across_sources_on_mac_ip_hostname_serial() -> None:
    devices = merge(
        [
            obs("nmap", 1, mac="44:19:B6:3A:10:15", ip="192.168.10.21"),
            obs("nmap", 7, ip="192.168.10.21", hostname="CAM-LOBBY-01.corp.example"),  # IP: within one source
            obs("inventory", 2, hostname="cam-lobby-01", serial="FA48"),
            obs("dhcp", 3, hostname="cam-lobby-01"),  # short name, other case
            obs("mdm", 4, serial="FA48", model="DS-2CD2143G2-IS"),
            obs("nmap", 5, mac="00:E0:FC:7A:31:02", ip="192.168.10.2"),
            obs("inventory", 6, hostname="192.168.10.2"),  # an address written as a host name is not a name
        ]
    )
    assert [sorted(o.location.row for o in d.observations) for d in devices] == [[1, 2, 3, 4, 7], [5], [6]]
    cam = devices[0]
    assert cam.id == "44:19:B6:3A:10:15" and cam.sources == ["dhcp", "inventory", "mdm", "nmap"]


def test_router_mac_seen_for_many_ips_does_not_merge_the_subnet() -> None:
    router = "00:E0:FC:01:02:03"
    arp = [obs("neigh", n, mac=router, ip=f"10.9.0.{n}") for n in range(1, 9)]
    inventory = [obs("inventory", 20 + n, ip=f"10.9.0.{n}", hostname=f"host{n}") for n in range(1, 3)]
    devices = merge(arp + inventory)
    assert len(devices) == 11  # 8 addresses behind the router, the router itself, 2 inventory rows (other source)
    routers = [d for d in devices if d.macs == [router]]
    assert len(routers) == 1 and "router or proxy-ARP" in routers[0].notes[0]
    behind = [d for d in devices if "10.9.0.1" in d.ips]  # an IP merges only within one source
    assert len(behind) == 2 and behind[0].macs == [] and "not used to identify" in behind[0].notes[0]
    assert [[o.location.row for o in d.observations] for d in behind] == [[1], [21]]


def test_one_host_with_many_addresses_is_one_device() -> None:
    records = [obs("inventory", n, mac="00:E0:FC:01:02:03", ip=f"10.9.{n}.1", hostname="core-rtr") for n in range(6)]
    (device,) = merge(records)
    assert device.macs == ["00:E0:FC:01:02:03"] and len(device.ips) == 6 and not device.notes


def test_reused_address_is_not_a_merge_key() -> None:
    devices = merge(
        [
            obs("dhcp", 1, mac="44:19:B6:00:00:01", ip="10.0.0.9", hostname="android"),
            obs("dhcp", 2, mac="F0:18:98:00:00:02", ip="10.0.0.9", hostname="android"),
        ]
    )
    assert len(devices) == 2
    notes = [n for d in devices for n in d.notes]
    assert any("may be the same device" in n and "IP address 10.0.0.9" in n and "2 MAC addresses" in n for n in notes)


def test_mac_and_banner_evidence_with_locations(attributor: Attributor) -> None:
    att = one(
        attributor,
        obs("nmap", 7, mac="44:19:B6:3A:10:15", ip="192.168.10.21", http__server="Hikvision-Webs"),
    )
    d = att.decision
    assert d.entity is not None and d.entity.group == "hikvision"
    verdicts = judged(att)
    assert verdicts.status is Status.LIMITED and {v.status for v in verdicts.verdicts} == {Status.LIMITED}
    by_rule = {e.rule: e for e in att.evidence}
    mac = by_rule["mac.registry"]
    assert mac.value.startswith("44:19:B6:3A:10:15 (Hangzhou Hikvision") and "MA-L 44:19:B6/24" in mac.value
    assert mac.data_date == attributor.registry.date
    banner = by_rule["banner.http.server"]
    assert banner.value == "Hikvision-Webs" and banner.location == Location("nmap.txt", row=7, field="HTTP.SERVER")
    assert "recog:http_servers.xml:3" in by_rule
    assert d.confidence > 0.95 and not d.conflicts


def test_relabelled_camera_goes_to_review(attributor: Attributor) -> None:
    # Apple's MAC prefix, Hikvision's web server: relabelled device or a third-party network module
    att = one(attributor, obs("nmap", 1, mac="F0:18:98:00:00:02", http__server="DNVRS-Webs"))
    d = att.decision
    assert d.entity is not None and d.entity.group == "hikvision"
    assert judged(att).status is Status.REVIEW and d.conflicting
    assert any("Apple" in c and "relabelled/OEM" in c for c in d.conflicts)
    assert att.evidence[0].rule != "mac.registry"  # supporting evidence first


def test_strong_evidence_outweighs_a_third_party_nic(attributor: Attributor) -> None:
    att = one(
        attributor,
        obs("nmap", 1, mac="AC:CC:8E:12:34:56", http__server="Hikvision-Webs", model="DS-2CD2042WD-I"),
    )
    assert judged(att).status is Status.LIMITED  # banner + model grammar: the Axis MAC is noted, not decisive
    assert att.decision.conflicts


def test_two_covered_groups_conflict(attributor: Attributor) -> None:
    att = one(attributor, obs("nmap", 1, mac="00:E0:FC:7A:31:02", http__realm="ZXHN H108N"))
    assert judged(att).status is Status.REVIEW
    assert any("ZTE" in c and "Huawei" in c for c in att.decision.conflicts)


def test_randomised_mac_is_never_attributed(attributor: Attributor) -> None:
    att = one(attributor, obs("dhcp", 1, mac="9A:3F:5E:0C:72:50", ip="10.0.0.50"))
    assert att.unattributable == ["9A:3F:5E:0C:72:50: locally administered (randomised or private) address"]
    assert att.decision.entity is None and att.decision.maker is None
    assert not att.decision.attributable and judged(att).status is Status.NOT_COVERED
    assert att.evidence == []
    # other evidence still counts
    att = one(attributor, obs("dhcp", 1, mac="6E:21:0A:91:C4:3B", dhcp__vendor_class="HUAWEI:android:VOG-L29"))
    assert att.decision.entity is not None and att.decision.entity.group == "huawei"
    assert att.unattributable and att.decision.attributable


def test_chip_vendor_is_a_component_question(attributor: Attributor) -> None:
    att = one(attributor, obs("nmap", 1, mac="52:54:00:8E:21:30", http__server="uc-httpd 1.0.0"))
    d = att.decision
    assert d.component is not None and judged(att).status is Status.REVIEW
    assert d.maker != "HiSilicon Technologies Co., Ltd." and d.brand is None
    assert any("component" in n for n in d.notes)
    assert all(v.status is Status.REVIEW for v in judged(att).verdicts)


@pytest.mark.parametrize(
    ("maker", "as_of", "status"),
    [
        ("Honor", "2020-06-01", Status.COVERED),
        ("Honor", "2026-11-22", Status.REVIEW),
        ("Lorex", "2020-06-01", Status.LIMITED),  # s.889 in force, Dahua-owned
        ("Lorex", "2024-01-01", Status.REVIEW),
    ],
)
def test_ownership_is_judged_as_of(maker: str, as_of: str, status: Status) -> None:
    attributor = Attributor(VendorKB.load(), MacRegistry.load(), as_of)
    att = one(attributor, obs("inventory", 1, serial="S1", manufacturer=maker))
    assert judged(att, ("us-889",), as_of).status is status
    assert any("belonged to" in n and as_of in n for n in att.decision.notes)


def test_false_friends_are_not_covered(attributor: Attributor) -> None:
    for name in ("Shanghai Dahua Scale Factory", "Uniview", "Jorex Lorex India"):
        att = one(attributor, obs("inventory", 1, serial="X", manufacturer=name))
        assert judged(att).status is Status.NOT_COVERED, name
        assert att.decision.entity is None or att.decision.entity.group is None, name


def test_brand_names_maker_and_brand(attributor: Attributor) -> None:
    att = one(attributor, obs("inventory", 1, serial="E7", manufacturer="EZVIZ", model="CS-C6N"))
    d = att.decision
    assert d.entity is not None and d.entity.id == "ezviz" and d.entity.group == "hikvision"
    assert d.maker is not None and "Hikvision" in d.maker and d.brand is not None and "Ezviz" in d.brand
    assert d.model == "CS-C6N"


def test_decisions_are_cached_per_claim_set(attributor: Attributor) -> None:
    first = one(attributor, obs("inventory", 1, mac="44:19:B6:00:00:01", manufacturer="Hikvision"))
    second = one(attributor, obs("inventory", 2, mac="44:19:B6:00:00:02", manufacturer="Hikvision"))
    assert first.decision is second.decision  # same registrant, same text: one decision
    assert first.evidence[0].location.row == 1 and second.evidence[0].location.row == 2


_macs = st.sampled_from(["44:19:B6:00:00:01", "44:19:B6:00:00:02", "00:E0:FC:00:00:03", "9A:3F:5E:0C:72:50", None])
_ips = st.sampled_from([f"10.0.0.{n}" for n in range(1, 7)] + [None])
_hosts = st.sampled_from(["cam-1", "CAM-1.corp.example", "nvr", "android", None])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_macs, _ips, _hosts, st.sampled_from(["S1", "S2", None])), max_size=30))
def test_merge_properties(records: list[tuple[str | None, str | None, str | None, str | None]]) -> None:
    observations = [obs("x", n, mac=m, ip=i, hostname=h, serial=s) for n, (m, i, h, s) in enumerate(records)]
    devices = merge(observations)
    given_ids = {id(o) for o in observations}
    rows = sorted(o.location.row for d in devices for o in d.observations if id(o) in given_ids)
    assert rows == list(range(len(records)))  # every observation in exactly one device (plus router devices)
    owner: dict[str, int] = {}
    for k, d in enumerate(devices):
        universal = [mac for mac in d.macs if not int(mac[:2], 16) & 3]
        assert len(universal) <= 1  # distinct devices are never merged
        for mac in universal:  # a universally administered MAC identifies one device only
            assert owner.setdefault(mac, k) == k
        assert d.id


def test_policy_stage_judges_each_kind_of_decision_once(attributor: Attributor) -> None:
    stage = PolicyStage(["us-889", "fcc"], "2026-11-22")
    cam = one(attributor, obs("inventory", 1, mac="44:19:B6:00:00:01", manufacturer="Hikvision"))
    other_cam = one(attributor, obs("inventory", 2, mac="44:19:B6:00:00:02", model="DS-2CD2042WD-I"))
    relabel = one(attributor, obs("nmap", 3, mac="F0:18:98:00:00:02", http__server="DNVRS-Webs"))
    assert cam.decision is not other_cam.decision and cam.decision.entity == other_cam.decision.entity
    assert stage(cam.decision) is stage(other_cam.decision) == judged(cam)  # facts apart, the same verdicts
    assert stage(relabel.decision).status is Status.REVIEW and relabel.decision.conflicting
