"""Network security config: read from the APK (manifest -> resources.arsc -> res/xml) and judged as Android does.

APKs are compiled by Debian's aapt from text manifests and configs, so the binary XML, the resource table and the
reference between them are real.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from bansweep.findings import Finding, Location, Severity
from bansweep.firmware.apk import App, read_app
from bansweep.firmware.rules.comms import app_findings
from bansweep.firmware.rules.context import RuleContext, knowledge
from firmware_build import build_apk, manifest_xml, rezip
from firmware_fixtures import need_tools

ENTRY = "res/xml/network_security_config.xml"
HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'

DOMAIN_CLEARTEXT = (
    HEAD
    + """<network-security-config>
  <base-config cleartextTrafficPermitted="false"/>
  <domain-config cleartextTrafficPermitted="true">
    <domain includeSubdomains="true">telemetry.example.net</domain>
    <domain>10.0.0.2</domain>
  </domain-config>
  <domain-config>
    <domain>secure.example.org</domain>
  </domain-config>
</network-security-config>
"""
)

USER_CA = (
    HEAD
    + """<network-security-config>
  <base-config>
    <trust-anchors>
      <certificates src="system"/>
    </trust-anchors>
  </base-config>
  <domain-config>
    <domain>api.example.net</domain>
    <trust-anchors>
      <certificates src="system"/>
      <certificates src="user"/>
    </trust-anchors>
  </domain-config>
  <debug-overrides>
    <trust-anchors>
      <certificates src="user"/>
    </trust-anchors>
  </debug-overrides>
</network-security-config>
"""
)

STRICT = (
    HEAD
    + """<network-security-config>
  <base-config cleartextTrafficPermitted="false">
    <trust-anchors>
      <certificates src="system"/>
    </trust-anchors>
  </base-config>
</network-security-config>
"""
)

NO_CLEARTEXT_ATTR = (
    HEAD
    + """<network-security-config>
  <domain-config>
    <domain>example.net</domain>
  </domain-config>
</network-security-config>
"""
)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_tools()
    return tmp_path_factory.mktemp("nsc")


def nsc_app(
    work: Path,
    name: str,
    config: str | None,
    target_sdk: int = 28,
    min_sdk: int = 24,
    application: dict[str, str] | None = None,
) -> App:
    attrs = dict(application or {})
    if config is not None:
        attrs["networkSecurityConfig"] = "@xml/network_security_config"
    manifest = manifest_xml(f"org.example.{name}", min_sdk=min_sdk, target_sdk=target_sdk, application=attrs)
    resources = {"xml/network_security_config.xml": config} if config is not None else None
    path = build_apk(work / name, manifest, None, schemes=(), name=name, resources=resources)
    return read_app(path.read_bytes(), f"system/app/{name}/{name}.apk", Location("fw.img", entry=f"app/{name}.apk"))


def judged(app: App) -> dict[str, Finding]:
    return {f.rule: f for f in app_findings(app, RuleContext(knowledge(), set(), ()))}


def test_config_is_read_through_the_resource_table(work: Path) -> None:
    app = nsc_app(work, "read", DOMAIN_CLEARTEXT)
    assert app.errors == []
    assert [c.entry for c in app.net_configs] == [ENTRY]
    root = app.net_configs[0].root
    assert root.tag == "network-security-config"
    domains = [d.text for dc in root.find_all("domain-config") for d in dc.find_all("domain")]
    assert domains == ["telemetry.example.net", "10.0.0.2", "secure.example.org"]


def test_cleartext_for_one_domain_names_it_and_the_line(work: Path) -> None:
    app = nsc_app(work, "domain", DOMAIN_CLEARTEXT, application={"usesCleartextTraffic": "false"})
    found = judged(app)["firmware.comms.cleartext"]
    assert len(found.evidence) == 1  # the strict base and the inheriting second domain-config add nothing
    ev = found.evidence[0]
    assert "telemetry.example.net (and subdomains)" in ev.value and "10.0.0.2" in ev.value
    assert "secure.example.org" not in ev.value
    assert ev.location.entry == f"app/domain.apk!/{ENTRY}"
    assert ev.location.line == 4  # the <domain-config> line
    assert "telemetry.example.net" in found.explanation


def test_user_certificates_trusted_outside_debug_overrides(work: Path) -> None:
    found = judged(nsc_app(work, "userca", USER_CA))
    user = found["firmware.comms.user-ca"]
    assert [e.location.line for e in user.evidence] == [12]  # the domain-config's <certificates src="user"/> only
    assert "api.example.net" in user.evidence[0].value
    assert user.severity >= Severity.LOW
    debug = found["firmware.comms.debug-overrides"]
    assert debug.severity == Severity.INFO and debug.evidence[0].location.line == 15
    assert "firmware.comms.cleartext" not in found


def test_debug_overrides_count_in_a_debuggable_app(work: Path) -> None:
    found = judged(nsc_app(work, "debugca", USER_CA, application={"debuggable": "true"}))
    assert sorted(e.location.line for e in found["firmware.comms.user-ca"].evidence) == [12, 17]
    assert "firmware.comms.debug-overrides" not in found


def test_strict_config_overrides_old_target_and_manifest_flag(work: Path) -> None:
    strict = nsc_app(work, "strict", STRICT, target_sdk=23, application={"usesCleartextTraffic": "true"})
    assert strict.errors == []
    found = judged(strict)
    assert "firmware.comms.cleartext" not in found and "firmware.comms.user-ca" not in found
    # The same manifest without the config allows cleartext.
    plain = nsc_app(work, "plain", None, target_sdk=23, application={"usesCleartextTraffic": "true"})
    assert "firmware.comms.cleartext" in judged(plain)


def test_strict_config_but_android_6_still_follows_the_manifest(work: Path) -> None:
    app = nsc_app(work, "m", STRICT, target_sdk=28, min_sdk=23, application={"usesCleartextTraffic": "true"})
    ev = judged(app)["firmware.comms.cleartext"].evidence
    assert len(ev) == 1 and "Android 6" in ev[0].value
    assert ev[0].location.entry == "app/m.apk!/AndroidManifest.xml"


@pytest.mark.parametrize(("target", "allowed"), [(27, True), (28, False)])
def test_unset_cleartext_follows_target_sdk_default(work: Path, target: int, allowed: bool) -> None:
    found = judged(nsc_app(work, f"default{target}", NO_CLEARTEXT_ATTR, target_sdk=target))
    assert ("firmware.comms.cleartext" in found) is allowed
    if allowed:
        assert "targetSdkVersion 27 < 28" in found["firmware.comms.cleartext"].evidence[0].value


def test_missing_config_file_is_an_error_naming_it(work: Path, tmp_path: Path) -> None:
    app = nsc_app(work, "gone", STRICT)
    src = work / "gone" / "gone-unsigned.apk"
    with zipfile.ZipFile(src) as zf:
        entries = [(n, zf.read(n)) for n in zf.namelist() if n != ENTRY]
    broken = rezip(entries, tmp_path / "gone.apk")
    app = read_app(broken.read_bytes(), "gone.apk", Location("gone.apk"))
    assert app.net_configs == []
    assert [(loc.entry, loc.field) for loc, _ in app.errors] == [("AndroidManifest.xml", "networkSecurityConfig")]
    assert ENTRY in app.errors[0][1]


def test_old_target_config_without_trust_anchors_trusts_user_cas(work: Path) -> None:
    found = judged(nsc_app(work, "oldca", NO_CLEARTEXT_ATTR, target_sdk=23, min_sdk=23))
    ev = found["firmware.comms.user-ca"].evidence
    assert len(ev) == 1 and "targetSdkVersion 23 < 24" in ev[0].value
    assert ev[0].location.entry == f"app/oldca.apk!/{ENTRY}" and ev[0].location.line == 2
    strict = judged(nsc_app(work, "oldstrict", STRICT, target_sdk=23, min_sdk=23))
    assert "firmware.comms.user-ca" not in strict  # its base-config names its own (system) anchors


def test_old_target_without_config_trusts_user_cas_unless_privileged(work: Path) -> None:
    manifest = manifest_xml(
        "org.example.oldnet", min_sdk=19, target_sdk=23, uses_permissions=["android.permission.INTERNET"]
    )
    path = build_apk(work / "oldnet", manifest, None, schemes=(), name="oldnet")
    for fw_path, expected in (("system/app/OldNet/OldNet.apk", True), ("system/priv-app/OldNet/OldNet.apk", False)):
        app = read_app(path.read_bytes(), fw_path, Location("fw.img", entry=fw_path))
        found = judged(app)
        assert ("firmware.comms.user-ca" in found) is expected
        if expected:
            assert found["firmware.comms.user-ca"].evidence[0].location.field == "application"


def test_config_with_the_wrong_root_is_an_error(work: Path) -> None:
    wrong = HEAD + '<network-config>\n  <base-config cleartextTrafficPermitted="true"/>\n</network-config>\n'
    app = nsc_app(work, "wrongroot", wrong)
    assert app.net_configs == []
    assert [loc.entry for loc, _ in app.errors] == [f"app/wrongroot.apk!/{ENTRY}"]
    assert "<network-config>" in app.errors[0][1]


def test_nested_domain_config_inherits_cleartext(work: Path) -> None:
    nested = (
        HEAD
        + """<network-security-config>
  <domain-config cleartextTrafficPermitted="true">
    <domain>outer.example.net</domain>
    <domain-config>
      <domain>inner.example.net</domain>
    </domain-config>
    <domain-config cleartextTrafficPermitted="false">
      <domain>closed.example.net</domain>
    </domain-config>
  </domain-config>
</network-security-config>
"""
    )
    ev = judged(nsc_app(work, "nested", nested))["firmware.comms.cleartext"].evidence
    assert [(e.location.line, e.value.rsplit(" ", 1)[-1]) for e in ev] == [
        (3, "outer.example.net"),
        (5, "inner.example.net"),
    ]
