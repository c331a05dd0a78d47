"""firmware: pre-installed spyware, backdoors, privilege and insecure communications in Android firmware and APKs.

Each input (APK, folder, firmware tree, OTA zip, image, adb device) is opened into Items by the containers; the
firmware facts (build properties, init services, file modes, native binaries) are read here, and every APK/JAR is
analysed in a bounded worker process (memory and time limits), one worker per CPU by default. The rules produce facts;
the firmware policy stage (bansweep.policy.firmware) then gives each finding its status (its severity word) and each
subject its risk score. What could not be analysed (an input or part of it that would not open, an APK that would
not parse, a worker that was killed) is an input error and a not-screened finding on that subject, never clean.
"""

from __future__ import annotations

import mmap
import os
import posixpath
from collections import defaultdict
from collections.abc import Generator, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from bansweep import progress
from bansweep.executors import Session, executor
from bansweep.findings import Finding, InputError, Location, Report, Severity, Status
from bansweep.firmware import containers
from bansweep.firmware.apk import (
    FileFact,
    Firmware,
    is_code,
    is_prop_file,
    is_rc_file,
    read_app,
    read_binary,
    read_props,
    read_rc,
    sibling_key,
)
from bansweep.firmware.baseline import baseline
from bansweep.firmware.containers import Item, vbmeta
from bansweep.firmware.containers.item import file_reader
from bansweep.firmware.diff import compare
from bansweep.firmware.formats.signing import signing_info
from bansweep.firmware.formats.zipfile import open_zip
from bansweep.firmware.limits import FormatError, Limits
from bansweep.firmware.rules import judge_app, judge_code, judge_firmware
from bansweep.firmware.rules.context import (
    NOT_SCREENED_RULE,
    RuleContext,
    app_subject,
    canon_path,
    firmware_subject,
    knowledge,
    not_screened,
    unread_subject,
)
from bansweep.firmware.rules.trackers import Tracker, load_trackers
from bansweep.inputs import InputFile
from bansweep.policy.firmware import RISK_RULE, device_risk, judge

MAX_BINARIES = 64  # native binaries whose strings are read, per firmware
MAX_BINARY_BYTES = 64 * 2**20
MAX_TEXT_BYTES = 4 * 2**20
AOSP_PACKAGES = ("android", "com.android.")  # the platform package and the AOSP namespace
WORKER_LIMITS = Limits()


@dataclass(slots=True)
class Options:
    knowledge: list[Path] = field(default_factory=list)
    trackers: Path | None = None
    workers: int = 0  # 0 = one per CPU
    show_progress: bool | None = None
    limits: Limits = field(default_factory=Limits)
    worker_limits: Limits = WORKER_LIMITS
    executor: str = "local"  # where the apps are analysed: local | dask
    scheduler: str | None = None  # the Dask scheduler's address (None: $DASK_SCHEDULER_ADDRESS, else a local cluster)


def sniff(item: InputFile) -> str | None:
    return containers.sniff(item)


def sniff_dir(path: Path) -> bool:
    return containers.sniff_dir(path)


@dataclass(slots=True)
class AppOutcome:
    """What a worker sends back for one APK/JAR: findings, errors and the facts the summary needs."""

    path: str
    package: str | None
    findings: list[Finding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    capabilities: list[str] = field(default_factory=list)
    system_uid: bool = False
    update_app: bool = False
    unread: bool = False  # could not be analysed at all: its findings are one not-screened finding
    kind: str = "not_analysed"  # apps | apks_without_manifest | code_jars | not_analysed (the summary's counts)


def _unread(path: str, error: InputError) -> AppOutcome:
    finding = not_screened(unread_subject(path), [error], path)
    return AppOutcome(path, None, findings=[finding], errors=[error], unread=True)


@dataclass(frozen=True, slots=True)
class Job:
    """Everything a worker needs to judge one app (picklable)."""

    overlays: tuple[Path, ...]
    trackers: Path | None
    platform_certs: frozenset[str]
    limits: Limits
    api: int | None = None  # the firmware's API level, for the stock baseline


@lru_cache(maxsize=4)
def _trackers(path: Path | None) -> tuple[Tracker, ...]:
    return tuple(load_trackers(path)[0]) if path else ()


# The APK and its odex/vdex siblings travel as bytes, or as the path of a plain file on disk that the worker reads
# itself (saving a copy through the pipe for every file of a folder or extracted tree).
Task = tuple[Job, bytes | str, str, Location, list[tuple[str, Location, bytes | str]]]


def _read_file(path: str, cap: int) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise FormatError(f"{len(data) - 1}+ bytes is over the {cap}-byte read limit")
    return data


def _sibling_data(
    siblings: list[tuple[str, Location, bytes | str]], cap: int, errors: list[InputError]
) -> Iterator[tuple[str, Location, bytes]]:
    """The odex/vdex siblings, files read only if read_app asks for them (the APK has no dex)."""
    for path, location, content in siblings:
        try:
            yield path, location, content if isinstance(content, bytes) else _read_file(content, cap)
        except OSError as exc:
            errors.append(InputError(location, f"cannot read: {exc.strerror or exc}"))
        except FormatError as exc:
            errors.append(InputError(location, str(exc)))


def analyse_task(task: Task) -> AppOutcome:
    """Runs in a worker: facts of one APK/JAR (job, data, firmware path, location, odex/vdex siblings), then rules."""
    job, content, path, location, siblings = task
    sibling_errors: list[InputError] = []
    try:
        data = content if isinstance(content, bytes) else _read_file(content, job.limits.max_entry_bytes)
        sibling_data = _sibling_data(siblings, job.limits.max_entry_bytes, sibling_errors)
        app = read_app(data, path, location, sibling_data, job.limits)
    except OSError as exc:
        return _unread(path, InputError(location, f"cannot read: {exc.strerror or exc}"))
    except FormatError as exc:
        where = Location(location.file, entry=location.entry, offset=exc.offset)
        return _unread(path, InputError(where, f"not a readable APK/JAR: {exc.message}"))
    del data, content, siblings, task
    errors = sibling_errors + [InputError(loc, msg) for loc, msg in app.errors]
    apk = not path.lower().endswith(".jar")  # code items are APKs and JARs (and a zip routed as an APK)
    if app.manifest is None and apk and not app.dex.present:  # nothing to judge; its errors say why
        return AppOutcome(path, None, [not_screened(unread_subject(path), errors, path)], errors, unread=True)
    out = AppOutcome(path, app.manifest.package if app.manifest else None, errors=errors)
    out.kind = "apps" if app.manifest else "apks_without_manifest" if apk else "code_jars"
    if errors:  # judged on what could be read; the rest is not screened
        out.findings.append(not_screened(app_subject(app), errors, f"Part of {app.package}"))
    ctx = RuleContext(
        knowledge(job.overlays), set(job.platform_certs), _trackers(job.trackers), api=job.api, overlays=job.overlays
    )
    if app.manifest is None and not apk:  # a JAR (framework or library code): it implements APIs; indicators only
        out.findings += judge_code(app, ctx)
        return out
    if app.manifest is None:  # an APK without a manifest: its code is judged (no permissions, no components)
        out.findings += judge_app(app, ctx)
        out.capabilities = sorted(ctx.capabilities(app))
        return out
    out.findings += judge_app(app, ctx)
    caps = ctx.capabilities(app)
    out.capabilities = sorted(caps)
    priv = ctx.privilege(app)
    out.system_uid = priv.system
    out.update_app = ("install" in caps or "shell-install" in caps) and "reboot" in caps
    return out


def _platform_certs(fw: Firmware, items: list[Item], errors: list[InputError], limits: Limits) -> None:
    """Certificates of framework-res.apk (the 'android' package): what platform-signed means on this firmware."""
    for item in items:
        if item.path.endswith("framework/framework-res.apk"):
            try:
                data = item.read()
                fw.platform_certs = {c.sha256.lower() for c in signing_info(open_zip(data, limits), data).certs}
                fw.platform_location = item.location
                return
            except FormatError as exc:
                errors.append(InputError(item.location, f"framework-res.apk: {exc}"))


def _firmware_facts(name: str, items: list[Item], errors: list[InputError], ctx: RuleContext) -> Firmware:
    fw = Firmware(name, Location(name))
    lone = len(items) == 1 and items[0].location.entry is None and "/" not in items[0].path  # one file given
    indicator_files = {canon_path(str(e["value"])) for e in ctx.knowledge.spyware.entries if e["kind"] == "file"}
    for item in items:
        fw.files.append(FileFact(item.path, item.location, item.size, item.mode, item.uid, item.gid))
        try:
            if is_prop_file(item.path):
                read_props(fw, item.path, item.location, item.read(MAX_TEXT_BYTES))
                fw.analysed["build_property_files"] += 1
            elif is_rc_file(item.path):
                read_rc(fw, item.location, item.read(MAX_TEXT_BYTES))
                fw.analysed["init_scripts"] += 1
            elif vbmeta.is_vbmeta(item.path) and item.link is None:
                fw.vbmeta.append(vbmeta.parse_vbmeta(item.read(vbmeta.MAX_IMAGE), item.path, item.location))
                fw.analysed["vbmeta_images"] += 1
        except (FormatError, ValueError) as exc:
            errors.append(InputError(item.location, str(exc)))
    services = {canon_path(s.service.path) for s in fw.services}
    wanted = [
        i
        for i in items
        if i.link is None
        and not is_code(i.path)
        and (
            lone
            or canon_path(i.path) in indicator_files
            or posixpath.basename(i.path) in indicator_files
            or canon_path(i.path) in services
            or FileFact(i.path, i.location, i.size, i.mode, i.uid, i.gid).setuid
        )
    ]
    if len(wanted) > MAX_BINARIES:
        errors.append(
            InputError(Location(name), f"{len(wanted)} native binaries of interest; strings read for {MAX_BINARIES}")
        )
    for item in wanted[:MAX_BINARIES]:
        try:
            head = item.read(MAX_BINARY_BYTES)
            if head[:4] == b"\x7fELF":
                read_binary(fw, item.path, item.location, head)
                fw.analysed["native_binaries"] += 1
        except FormatError as exc:
            errors.append(InputError(item.location, f"ELF: {exc}"))
    return fw


def _sibling_index(items: list[Item]) -> dict[str, list[Item]]:
    index: dict[str, list[Item]] = {}
    for item in items:
        if item.link is None and item.path.endswith((".odex", ".vdex")):
            key = sibling_key(item.path)
            if key:
                index.setdefault(key, []).append(item)
    return index


def _one_isa(siblings: list[Item]) -> list[Item]:
    """The odex/vdex of one instruction set (the same dex is compiled for each): arm64 first, else the first."""
    isas = sorted({posixpath.basename(posixpath.dirname(i.path)) for i in siblings}, key=lambda a: (a != "arm64", a))
    return [i for i in siblings if posixpath.basename(posixpath.dirname(i.path)) == isas[0]] if isas else []


Place = tuple[int, int]  # an outcome's place: its code item's index, then 0 for the item and 1… for its siblings


def _tasks(
    code: list[Item],
    siblings_of: dict[str, list[Item]],
    job: Job,
    limits: Limits,
    session: Session,
    unread: list[tuple[Place, AppOutcome]],
    paths: dict[Location, tuple[Place, str]],
) -> Iterator[tuple[Location, Task]]:
    """One task per APK/JAR, read only when a worker is free (the executor pulls lazily). Files that cannot be
    read go to `unread`; `paths` records each task's place among the code items and its firmware path."""
    for n, item in enumerate(code):
        try:
            content = _content(item, limits, session)
        except FormatError as exc:
            unread.append(((n, 0), _unread(item.path, InputError(item.location, str(exc)))))
            continue
        siblings: list[tuple[str, Location, bytes | str]] = []  # used by the worker only if the APK has no dex
        for k, sib in enumerate(_one_isa(siblings_of.get(sibling_key(item.path) or "", [])), 1):
            try:
                siblings.append((sib.path, sib.location, _content(sib, limits, session)))
            except FormatError as exc:
                unread.append(((n, k), _unread(sib.path, InputError(sib.location, str(exc)))))
        paths[item.location] = ((n, 0), item.path)
        yield item.location, (job, content, item.path, item.location, siblings)


def _content(item: Item, limits: Limits, session: Session) -> bytes | str:
    """The path of a plain file the workers can read, else the item's bytes (up to what the executor sends)."""
    file = item.location.file
    plain = item.location.entry is None and os.path.isfile(file) and not os.path.islink(file)
    if plain and session.sees(os.path.dirname(file) or "."):
        return file
    cap = session.max_send_bytes
    if item.size > cap:
        raise FormatError(
            f"{item.size} bytes is over the {cap}-byte limit for sending an input to the workers; "
            "put it where the workers can read it"
        )
    return item.read(min(limits.max_entry_bytes, cap))


def _analyse(
    code: list[Item], siblings_of: dict[str, list[Item]], job: Job, options: Options, session: Session
) -> Iterator[tuple[Place, AppOutcome]]:
    """analyse_task over the code items on the executor's workers, in completion order, each outcome with the
    place of its item among the code items (so reports do not depend on which worker finished first)."""
    unread: list[tuple[Place, AppOutcome]] = []
    paths: dict[Location, tuple[Place, str]] = {}
    tasks = _tasks(code, siblings_of, job, options.limits, session, unread, paths)
    for where, result in session.map_isolated(analyse_task, tasks, options.worker_limits, options.workers):
        n, path = paths.pop(where)
        # a worker killed or failed: the app is not screened
        yield n, _unread(path, result) if isinstance(result, InputError) else result
        while unread:
            yield unread.pop()
    while unread:
        yield unread.pop()


# Formats recognised by their first bytes that the firmware job does not open, and what to do instead.
UNSUPPORTED = (
    (0, b"\xfd7zXZ\x00", "an xz-compressed file", "decompress it first"),
    (0, b"BZh", "a bzip2-compressed file", "decompress it first"),
    (0, b"\x1f\x8b", "a gzip-compressed file", "decompress it first"),
    (0, b"\x02\x21\x4c\x18", "an LZ4 (legacy) compressed image", "decompress it first"),
    (0, b"\x04\x22\x4d\x18", "an LZ4-compressed file", "decompress it first"),
    (0, b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract it first"),
    (0, b"Rar!\x1a\x07", "a RAR archive", "extract it first"),
    (0, b"\x28\xb5\x2f\xfd", "a Zstandard-compressed file", "decompress it first"),
)


def _lone_file(path: Path) -> Item:
    st = path.stat()
    return Item(path.name, Location(str(path)), st.st_size, st.st_mode, st.st_uid, st.st_gid, reader=file_reader(path))


def _apk_without_manifest(path: Path, limits: Limits) -> bool:
    """A file named .apk, or a zip with classes.dex at its root, that has no AndroidManifest.xml: still an APK
    (its dex is analysed and the missing manifest reported), never a plain zip of nothing."""
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size == 0:
            return False
        with path.open("rb") as fh:
            if fh.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):
                return False
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                names = {e.name for e in open_zip(data, limits).entries}
    except (OSError, FormatError, ValueError):
        return False
    if "AndroidManifest.xml" in names:
        return False
    return path.suffix.lower() == ".apk" or "classes.dex" in names


def _nothing_analysable(path: Path, items: list[Item]) -> str:
    """Why an input that gave nothing to analyse is an input error: a recognised but unsupported format, or what it
    held instead."""
    head = b""
    if path.is_file():
        try:
            with path.open("rb") as fh:
                head = fh.read(64)
        except OSError:
            head = b""
    for offset, magic, what, todo in UNSUPPORTED:
        if head[offset : offset + len(magic)] == magic:
            return f"{what}, which bansweep firmware does not open; {todo}"
    kinds = "no APK, JAR, build property file, init script or native binary"
    if path.is_dir():
        folder = f"a folder of {len(items)} file(s)" if items else "an empty folder"
        return f"nothing analysable found: {folder}, {kinds}"
    if len(items) == 1 and items[0].location.entry is None:
        text = bool(head) and all(32 <= b < 127 or b in b"\t\r\n" for b in head)
        return (
            f"nothing analysable found: {'a text file' if text else 'a file'} that is no firmware image, archive, APK,"
            " JAR, build property file, init script or native binary"
        )
    shown = ", ".join(i.path for i in items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")
    return f"nothing analysable found: {'it holds only ' + shown if items else 'it holds no files'}; {kinds}"


def _one_input(
    path: Path, options: Options, trackers: tuple[Tracker, ...], session: Session, kind: str | None = None
) -> Report:
    name = str(path)
    report = Report(job="firmware", inputs=[name])
    items: list[Item] = []
    forced: Item | None = None  # a zip routed as an APK without a manifest
    if _apk_without_manifest(path, options.limits):
        forced = _lone_file(path)
        stream: Generator[Item | InputError, None, None] = (it for it in [forced])
    else:
        stream = cast(Generator[Item | InputError, None, None], containers.open_input(path, options.limits, kind))
    with closing(stream):
        for it in stream:
            if isinstance(it, InputError):
                report.errors.append(it)
            else:
                items.append(it)
        ctx = RuleContext(knowledge(tuple(options.knowledge)), trackers=trackers)
        fw = _firmware_facts(name, items, report.errors, ctx)
        _platform_certs(fw, items, report.errors, options.limits)
        ctx.platform_certs = fw.platform_certs
        report.findings.extend(judge_firmware(fw, ctx))
        unread = list(report.errors)  # containers, build properties, init scripts or binaries not read
        if unread:
            what = f"Part of {name}" if items else name
            report.findings.append(not_screened(firmware_subject(fw), unread, what))
        siblings_of = _sibling_index(items)
        code = [i for i in items if (is_code(i.path) or i is forced) and i.link is None and "/oat/" not in f"/{i.path}"]
        if not code and not fw.analysed and not report.errors:  # never a silent clean
            nothing = InputError(Location(name), _nothing_analysable(path, items))
            report.errors.append(nothing)
            unread.append(nothing)
            report.findings.append(not_screened(firmware_subject(fw), [nothing], name))
        api = api_level(fw)
        job = Job(tuple(options.knowledge), options.trackers, frozenset(ctx.platform_certs), options.limits, api)
        placed: list[tuple[Place, AppOutcome]] = []
        with progress.progress(f"firmware {path.name}", total=len(code), show=options.show_progress) as bar:
            for n, out in _analyse(code, siblings_of, job, options, session):
                placed.append((n, out))
                bar.advance()
        # in the order of the items (an APK's unreadable siblings after it), whichever worker finished first
        outcomes = [out for _, out in sorted(placed, key=lambda p: p[0])]
        for out in outcomes:
            report.findings.extend(out.findings)
            report.errors.extend(out.errors)
    _tell_apart(outcomes)
    judge(report.findings)  # the policy stage: status words and risk scores
    apps = [_app_summary(out) for out in outcomes if out.package is not None]
    whole = len(items) > len(code) or (not items and bool(unread))  # the firmware, when not just APKs, or unopened
    headless = sum(out.kind == "apks_without_manifest" for out in outcomes)
    report.subjects = len(apps) + headless + sum(out.unread for out in outcomes) + whole
    report.summary[name] = _summary(fw, apps, report)
    report.summary[name]["analysed"] = _analysed(fw, outcomes)
    report.data_versions.update(ctx.knowledge.versions)
    report.data_versions.update(baseline(tuple(options.knowledge)).versions)
    return report


def api_level(fw: Firmware) -> int | None:
    """The firmware's API level from its build properties, None when absent (a lone APK, a folder of APKs)."""
    for key in ("ro.build.version.sdk", "ro.system.build.version.sdk"):
        value = fw.prop(key)
        if value and value.strip().isdigit():
            return int(value.strip())
    return None


def _analysed(fw: Firmware, outcomes: list[AppOutcome]) -> dict[str, int]:
    """What was analysed, by kind: apps, APKs without a manifest, code JARs, native binaries, build property files,
    init scripts, files listed; and the APKs/JARs that could not be analysed."""
    counts = {k: 0 for k in ("apps", "apks_without_manifest", "code_jars")}
    for out in outcomes:
        counts[out.kind] = counts.get(out.kind, 0) + 1
    for k in ("native_binaries", "build_property_files", "init_scripts", "vbmeta_images"):
        counts[k] = fw.analysed[k]
    counts["files"] = len(fw.files)
    counts.setdefault("not_analysed", 0)
    return counts


def _tell_apart(outcomes: list[AppOutcome]) -> None:
    """Apps of one package at several paths in one input (two versions shipped, a folder of builds) are told apart
    by their path in their findings' subject identity, so their finding keys differ; a package found once keeps
    its package as identity, so its keys match from build to build wherever it is installed."""
    paths: dict[str, set[str]] = defaultdict(set)
    for out in outcomes:
        if out.package is not None:
            paths[out.package].add(out.path)
    for out in outcomes:
        if out.package is not None and len(paths[out.package]) > 1:
            for f in out.findings:
                f.subject.identity = f"{f.subject.id} at {out.path}"


def _app_summary(out: AppOutcome) -> dict[str, Any]:
    judged = [f for f in out.findings if f.status is not Status.NOT_SCREENED]
    worst = max((f.severity for f in judged), default=None)
    harvesting = any(f.rule == "firmware.harvesting" and f.severity >= Severity.HIGH for f in judged)
    return {
        "package": out.package,
        "path": out.path,
        "severity": worst,
        "risk": max((f.risk or 0.0 for f in judged), default=0.0),
        "titles": [f.title for f in sorted(judged, key=lambda f: -f.severity)],
        "capabilities": out.capabilities,
        "system_uid": out.system_uid,
        "update_app": out.update_app,
        "harvesting": harvesting,
        "indicators": sorted({f.extra["family"] for f in judged if f.rule.startswith("firmware.indicator.")}),
        "roles": next((f.extra.get("roles", []) for f in judged if f.rule == RISK_RULE), None),
        "why": next((f.explanation for f in judged if f.rule == RISK_RULE), ""),
    }


def _third_party(package: str) -> bool:
    return not (package == AOSP_PACKAGES[0] or package.startswith(AOSP_PACKAGES[1]))


def _summary(fw: Firmware, apps: list[dict[str, Any]], report: Report) -> dict[str, Any]:
    fw_indicators = sorted(
        {
            f"{f.extra['family']}: {e.value}"
            for f in report.findings
            if f.subject.kind == "firmware" and f.rule.startswith("firmware.indicator.")
            for e in f.evidence
        }
    )
    app_indicators = sorted({f"{fam}: {a['package']}" for a in apps for fam in a["indicators"]})
    return {
        "model": fw.prop("ro.product.model"),
        "fingerprint": fw.prop("ro.build.fingerprint"),
        "apps": len(apps),
        "files": len(fw.files),
        "platform_certificates": sorted(fw.platform_certs),
        "system_uid_apps": sorted(a["package"] for a in apps if a["system_uid"]),
        "third_party_update_apps": sorted(a["package"] for a in apps if a["update_app"] and _third_party(a["package"])),
        "harvesting_apps": sorted(a["package"] for a in apps if a["harvesting"]),
        "backdoor_indicators": fw_indicators + app_indicators,
        "errors": len(report.errors),
        # what could not be analysed, in whole or in part: apps by package or path, and the input itself
        "not_screened": sorted({f.subject.id for f in report.findings if f.rule == NOT_SCREENED_RULE}),
        # per app at medium or above: its risk score, worst severity and what was found, riskiest first
        "risky_apps": [
            {
                "package": a["package"],
                "path": a["path"],
                "risk": a["risk"],
                "severity": str(a["severity"]),
                "findings": a["titles"],
                "why": a["why"],
            }
            for a in sorted(apps, key=lambda a: (-a["risk"], a["package"], a["path"]))
            if a["severity"] is not None and a["severity"] >= Severity.MEDIUM
        ],
        "app_capabilities": {a["package"]: a["capabilities"] for a in apps},
        "app_paths": {a["path"]: a["package"] for a in apps},  # every app analysed, by its path
        "device_risk": device_risk(
            [a["risk"] for a in apps],
            max((f.risk or 0.0 for f in report.findings if f.subject.kind == "firmware"), default=0.0),
        ),
    }


def run(paths: list[Path], options: Options, formats: Mapping[str, str] | None = None) -> Report:
    """formats: each input's container kind when routing detected it already (else it is detected here)."""
    report = Report(job="firmware", inputs=[str(p) for p in paths])
    trackers: tuple[Tracker, ...] = ()
    if options.trackers:
        loaded, errors = load_trackers(options.trackers)
        trackers = _trackers(options.trackers)  # loaded once here; forked workers inherit it
        report.errors.extend(errors)
        report.data_versions["trackers"] = f"{options.trackers.name} ({len(loaded)} code signatures)"
    with executor(options.executor).open(options.scheduler, options.workers) as session:
        for path in paths:
            sub = _one_input(Path(path), options, trackers, session, (formats or {}).get(str(path)))
            report.findings.extend(sub.findings)
            report.errors.extend(sub.errors)
            report.subjects += sub.subjects
            report.summary.update(sub.summary)
            report.data_versions.update(sub.data_versions)
        report.summary["executor"] = session.describe()
    return report


def diff(old: Path, new: Path, options: Options) -> Report:
    return compare(run([old], options), run([new], options), str(old), str(new))
