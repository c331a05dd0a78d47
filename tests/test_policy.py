"""Policy verdicts: statute scope, purpose limits, affiliates as a policy choice, ownership dates, overlays."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bansweep.findings import Status
from bansweep.knowledge import KnowledgeError
from bansweep.knowledge.vendors import Entity, VendorKB, ownership_window
from bansweep.policy import judge, policy_ids

ALL = ["us-889", "fcc", "dfars", "dod-2018", "uk-tsa", "uk-ncsc-zte", "uk-surveillance", "dod-1260h"]
TODAY = "2026-11-22"


@pytest.fixture(scope="module")
def kb() -> VendorKB:
    return VendorKB.load()


def _status(kb: VendorKB, entity: str | None, policy: str, as_of: str = TODAY, **kw: bool) -> Status:
    (verdict,) = judge(kb.entity(entity) if entity else None, [policy], as_of, **kw)
    return verdict.status


def test_policy_ids() -> None:
    assert policy_ids() == ALL


def test_unknown_policy_names_the_available_ones(kb: VendorKB) -> None:
    with pytest.raises(ValueError, match=r"unknown policy 'us-890'; available: us-889, fcc"):
        judge(kb.entity("huawei"), ["us-889", "us-890"], TODAY)


@pytest.mark.parametrize("as_of", ["", "2024", "24-01-2024", "2024-01-01T00:00:00"])
def test_as_of_must_be_a_day(kb: VendorKB, as_of: str) -> None:
    with pytest.raises(ValueError, match="as_of must be an ISO date"):
        judge(kb.entity("huawei"), ["us-889"], as_of)


def test_one_verdict_per_policy_with_citation_and_date(kb: VendorKB) -> None:
    verdicts = judge(kb.entity("huawei"), ALL, TODAY)
    assert [v.policy for v in verdicts] == ALL
    for v in verdicts:
        assert v.citation and v.date and v.reason
    us889 = verdicts[0]
    assert us889.status is Status.COVERED
    assert "889(f)(3)(A)" in us889.citation
    assert us889.date == "2019-08-13"


@pytest.mark.parametrize("entity", ["hikvision", "dahua", "hytera", "ezviz", "hikrobot", "dahua-zhilian", "sepura"])
def test_889_f3b_vendors_are_covered_only_for_the_listed_purposes(kb: VendorKB, entity: str) -> None:
    (verdict,) = judge(kb.entity(entity), ["us-889"], TODAY)
    assert verdict.status is Status.LIMITED
    assert "889(f)(3)(B)" in verdict.citation
    assert "public safety" in verdict.reason
    (fcc,) = judge(kb.entity(entity), ["fcc"], TODAY)
    assert fcc.status is Status.LIMITED
    assert "200 kbps" in fcc.reason


@pytest.mark.parametrize("entity", ["huawei", "huawei-device", "hisilicon", "zte", "nubia", "sanechips"])
def test_889_f3a_vendors_are_covered(kb: VendorKB, entity: str) -> None:
    assert _status(kb, entity, "us-889") is Status.COVERED
    assert _status(kb, entity, "fcc") is Status.COVERED


@pytest.mark.parametrize("entity", ["xfusion", "td-tech", "h3c", "huawei-symantec", "prama-hikvision"])
def test_affiliates_of_unclear_status_need_review(kb: VendorKB, entity: str) -> None:
    (verdict,) = judge(kb.entity(entity), ["us-889"], TODAY)
    assert verdict.status is Status.REVIEW
    assert "policy choice" in verdict.reason


def test_honor_ownership_date_changes_the_verdict(kb: VendorKB) -> None:
    honor = kb.entity("honor")
    assert _status(kb, "honor", "us-889", "2020-06-01") is Status.COVERED  # Huawei-owned
    assert _status(kb, "honor", "us-889", "2020-11-17") is Status.COVERED  # last day of Huawei ownership
    (after,) = judge(honor, ["us-889"], "2020-11-18")
    assert after.status is Status.REVIEW
    assert "2020-11-17" in after.reason and "outside" in after.reason
    assert _status(kb, "honor", "uk-tsa", "2024-01-01") is Status.REVIEW


def test_lorex_ownership_window(kb: VendorKB) -> None:
    assert _status(kb, "lorex", "us-889", "2017-06-30") is Status.NOT_COVERED  # before s.889 took effect
    assert _status(kb, "lorex", "us-889", "2020-01-15") is Status.LIMITED
    assert _status(kb, "lorex", "us-889", "2022-11-24") is Status.LIMITED
    assert _status(kb, "lorex", "us-889", "2022-11-25") is Status.REVIEW
    assert ownership_window(kb.entity("lorex")) == ("2018-01-01", "2022-11-24")  # "2018" widened to the year
    assert ownership_window(kb.entity("indigovision")) == ("0000-01-01", "2021-04-31")


def test_indigovision_relabel_period_ends_april_2021(kb: VendorKB) -> None:
    assert _status(kb, "indigovision", "us-889", "2021-04-30") is Status.LIMITED
    assert _status(kb, "indigovision", "us-889", "2021-05-01") is Status.REVIEW


def test_rules_before_they_took_effect_do_not_cover(kb: VendorKB) -> None:
    (verdict,) = judge(kb.entity("huawei"), ["fcc"], "2020-01-01")
    assert verdict.status is Status.NOT_COVERED
    assert "2021-03-12" in verdict.reason
    assert _status(kb, "zte", "uk-ncsc-zte", "2018-04-15") is Status.NOT_COVERED
    assert _status(kb, "zte", "uk-ncsc-zte", "2018-04-16") is Status.COVERED


def test_policies_reach_only_their_groups(kb: VendorKB) -> None:
    assert _status(kb, "huawei", "uk-tsa") is Status.COVERED
    assert _status(kb, "zte", "uk-tsa") is Status.NOT_COVERED
    assert _status(kb, "zte", "uk-ncsc-zte") is Status.COVERED
    assert _status(kb, "hikvision", "dfars") is Status.NOT_COVERED
    assert _status(kb, "huawei", "dfars") is Status.LIMITED
    assert _status(kb, "zte", "dod-2018") is Status.LIMITED
    assert _status(kb, "hikvision", "uk-surveillance") is Status.LIMITED


def test_dod_1260h_names_entities_not_whole_groups(kb: VendorKB) -> None:
    assert _status(kb, "huawei", "dod-1260h") is Status.COVERED
    assert _status(kb, "hikvision", "dod-1260h") is Status.COVERED
    assert _status(kb, "dahua", "dod-1260h", "2022-10-05") is Status.COVERED
    assert _status(kb, "dahua", "dod-1260h", "2022-10-04") is Status.NOT_COVERED
    assert _status(kb, "dahua-chengdu-wisdom", "dod-1260h", "2024-06-01") is Status.NOT_COVERED
    assert _status(kb, "dahua-chengdu-wisdom", "dod-1260h") is Status.COVERED
    assert _status(kb, "ezviz", "dod-1260h") is Status.REVIEW  # group member not named on the list
    assert _status(kb, "zte", "dod-1260h") is Status.NOT_COVERED
    assert _status(kb, "hytera", "dod-1260h") is Status.NOT_COVERED


@pytest.mark.parametrize(
    "entity", ["uniview", "ff-dahua-scale", "ff-jorex-lorex", "ff-shanghai-zte", "ff-rosenberger", "ff-honor-society"]
)
def test_false_friends_and_neighbours_are_not_covered(kb: VendorKB, entity: str) -> None:
    for verdict in judge(kb.entity(entity), ALL, TODAY):
        assert verdict.status is Status.NOT_COVERED, verdict
        assert "not part of a covered group" in verdict.reason


def test_no_maker_is_not_covered_unless_evidence_conflicts(kb: VendorKB) -> None:
    assert _status(kb, None, "us-889") is Status.NOT_COVERED
    assert _status(kb, None, "us-889", conflicting=True) is Status.REVIEW


def test_conflicting_evidence_and_low_confidence_need_review(kb: VendorKB) -> None:
    (verdict,) = judge(kb.entity("hikvision"), ["us-889"], TODAY, conflicting=True)
    assert verdict.status is Status.REVIEW
    assert "conflicts" in verdict.reason and "covered-limited" in verdict.reason
    assert _status(kb, "hilook", "us-889") is Status.REVIEW  # confidence L
    assert _status(kb, "hikvision-relabel-integrators", "us-889") is Status.REVIEW
    assert _status(kb, "amcrest", "us-889") is Status.LIMITED  # relabel with confidence M


def test_an_entity_from_outside_the_knowledge_base_is_judged_by_its_fields() -> None:
    entity = Entity("x", "Example Subsidiary", "zte", "subsidiary", None, None, "H", "test", "2026")
    (verdict,) = judge(entity, ["us-889"], TODAY)
    assert verdict.status is Status.COVERED


# --- overlays -----------------------------------------------------------------------------------------------------


def _overlay(tmp_path: Path, entries: list[dict[str, object]]) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    doc = {"dataset": "policies", "version": "org", "entries": entries}
    (tmp_path / "policies.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return tmp_path


def test_overlay_policy_is_added_and_can_treat_affiliates_as_covered(tmp_path: Path, kb: VendorKB) -> None:
    over = _overlay(
        tmp_path / "o",
        [
            {
                "id": "acme-strict",
                "title": "Acme internal ban",
                "citation": "Acme security policy 7.3",
                "date": "2026-01-01",
                "source": "Acme board minutes",
                "review_relations": [],
                "review_entities": [],
                "rules": [
                    {
                        "groups": ["huawei", "zte", "hikvision", "dahua", "hytera"],
                        "status": "covered",
                        "citation": "s.7.3",
                        "reason": "no equipment from these groups on our premises",
                    }
                ],
            },
            {
                "id": "acme-dated",
                "title": "Acme ban on current group members only",
                "citation": "Acme security policy 7.4",
                "date": "2026-01-01",
                "source": "Acme board minutes",
                "outside_ownership": "not-covered",
                "rules": [{"groups": ["huawei", "dahua"], "status": "covered", "citation": "s.7.4", "reason": "r"}],
            },
            {"id": "dod-2018", "remove": True},
        ],
    )
    assert "acme-strict" in policy_ids([over]) and "dod-2018" not in policy_ids([over])
    (verdict,) = judge(kb.entity("xfusion"), ["acme-strict"], TODAY, overlays=[over])
    assert verdict.status is Status.COVERED
    assert verdict.citation == "Acme security policy 7.3; s.7.3"
    assert _status_over(kb, "honor", "acme-dated", "2024-01-01", over) is Status.NOT_COVERED
    assert _status_over(kb, "honor", "acme-dated", "2020-01-01", over) is Status.COVERED
    assert _status_over(kb, "lorex", "acme-dated", "2023-01-01", over) is Status.NOT_COVERED
    with pytest.raises(ValueError, match="dod-2018"):
        judge(kb.entity("zte"), ["dod-2018"], TODAY, overlays=[over])


def _status_over(kb: VendorKB, entity: str, policy: str, as_of: str, over: Path) -> Status:
    (verdict,) = judge(kb.entity(entity), [policy], as_of, overlays=[over])
    return verdict.status


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"groups": ["acme"], "status": "covered", "citation": "c", "reason": "r"}, "unknown 'acme'"),
        ({"groups": ["zte"], "status": "banned", "citation": "c", "reason": "r"}, "status must be one of"),
        ({"groups": ["zte"], "status": "covered", "reason": "r"}, "missing 'citation'"),
        (
            {"groups": ["zte"], "status": "covered", "citation": "c", "reason": "r", "effective": "soon"},
            "rule 1: 'effective'",
        ),
        ({"groups": ["zte"], "entities": ["nobody"], "status": "covered", "citation": "c", "reason": "r"}, "'nobody'"),
    ],
)
def test_bad_policy_overlay_names_file_and_entry(tmp_path: Path, rule: dict[str, object], message: str) -> None:
    over = _overlay(
        tmp_path / "o",
        [{"id": "broken", "title": "t", "citation": "c", "date": "2026", "source": "s", "rules": [rule]}],
    )
    with pytest.raises(KnowledgeError) as err:
        policy_ids([over])
    assert str(over / "policies.yaml") in str(err.value)
    assert "(broken)" in str(err.value)
    assert message in str(err.value)
