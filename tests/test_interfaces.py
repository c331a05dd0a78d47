"""The house rules of the code: every registry entry keeps its axis's contract, each axis is listed once and in full,
nothing is imported by name, the imports form no circle, and `sweep` sniffs each file once."""

from __future__ import annotations

import ast
import inspect
import io
import json
import re
import shutil
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bansweep import executors, jobs, reports
from bansweep.executors.interface import Executor
from bansweep.firmware import containers
from bansweep.firmware import rules as firmware_rules
from bansweep.firmware.containers.interface import Container
from bansweep.firmware.rules.interface import RuleFamily
from bansweep.fleet import sources as fleet_sources
from bansweep.fleet.sources.interface import InputSource
from bansweep.inputs import InputFile
from bansweep.parties import lists as party_lists
from bansweep.parties.lists.interface import ListSource
from bansweep.reports.interface import ReportFormat

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "bansweep"
EXAMPLES = ROOT / "examples"

# axis: (registry, Protocol, package folder, modules of that folder that are no entry of the registry)
AXES: dict[str, tuple[tuple[Any, ...], type, Path, set[str]]] = {
    "job": (jobs.JOBS, jobs.Job, SRC, set()),
    "fleet input source": (
        fleet_sources.SOURCES,
        InputSource,
        SRC / "fleet" / "sources",
        # helpers the sources share; the fast reader of large CSV inventories (same records as inventory-csv)
        {"common", "inventory_mapping", "inventory_csv_fast"},
    ),
    "firmware container": (
        containers.CONTAINERS,
        Container,
        SRC / "firmware" / "containers",
        # Item and Where; the OTA script reader of archive; a folder and a device are opened by open_input itself
        # jail: runs an external extractor confined to its output folder; vbmeta: AVB facts read from images;
        # update_metadata: payload.bin's protobuf manifest
        {"item", "updater_script", "directory", "adb", "jail", "vbmeta", "update_metadata"},
    ),
    "firmware rule family": (firmware_rules.FAMILIES, RuleFamily, SRC / "firmware" / "rules", {"context", "role"}),
    "restriction list": (party_lists.LISTS, ListSource, SRC / "parties" / "lists", {"builtin", "stored"}),  # helpers
    "report format": (reports.REPORT_FORMATS, ReportFormat, SRC / "reports", {"rules"}),  # rules: SARIF rule texts
    "executor": (executors.EXECUTORS, Executor, SRC / "executors", set()),
}

# Circles that another change removes; the lead deletes each line once that change is merged.
KNOWN_CIRCLES: list[set[str]] = []  # none left; a new circle is a design problem, not an exemption


def _members(protocol: type) -> dict[str, inspect.Signature | None]:
    """The Protocol's methods with their signatures (without self); properties as None."""
    out: dict[str, inspect.Signature | None] = {}
    for name, value in vars(protocol).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            out[name] = None
        elif callable(value):
            sig = inspect.signature(value)
            out[name] = sig.replace(parameters=list(sig.parameters.values())[1:])
    return out


def _accepts(func: Callable[..., Any], expected: inspect.Signature) -> bool:
    """Whether func can be called as the Protocol's method is: the same positional parameters, and keywords."""
    sig = inspect.signature(func)
    try:
        sig.bind(*(object() for p in expected.parameters.values() if p.default is inspect.Parameter.empty))
        sig.bind(*(object() for _ in expected.parameters))
    except TypeError:
        return False
    return True


@pytest.mark.parametrize("axis", sorted(AXES))
def test_every_registry_entry_keeps_its_contract(axis: str) -> None:
    registry, protocol, _, _ = AXES[axis]
    assert registry, f"{axis}: empty registry"
    for entry in registry:
        assert isinstance(entry, protocol), f"{axis}: {entry!r} is not a {protocol.__name__}"
        for name, expected in _members(protocol).items():
            value = getattr(entry, name)
            if expected is None:
                assert value, f"{axis}: {entry!r} has no {name}"
            else:
                assert _accepts(value, expected), f"{axis}: {entry.name}.{name} does not take {expected}"


@pytest.mark.parametrize("axis", sorted(AXES))
def test_registries_have_no_duplicates(axis: str) -> None:
    registry = AXES[axis][0]
    names = Counter(entry.name for entry in registry)
    assert [n for n, count in names.items() if count > 1] == []


@pytest.mark.parametrize("axis", sorted(a for a in AXES if a != "job"))
def test_every_module_of_an_axis_is_registered(axis: str) -> None:
    """A new file without its registry line would be dead code: the registry (the folder's __init__) imports
    every module of the folder but its named helpers."""
    _, _, folder, helpers = AXES[axis]
    modules = {f"{_module_name(folder / '__init__.py')}.{p.stem}" for p in folder.glob("*.py")}
    modules -= {f"{_module_name(folder / '__init__.py')}.{m}" for m in {"__init__", "interface", *helpers}}
    assert modules - import_graph()[_module_name(folder / "__init__.py")] == set()


def test_jobs_options_have_defaults() -> None:
    for job in jobs.JOBS:
        assert job.Options().knowledge == [], job.name


def test_no_import_by_name() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted(SRC.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bimport_module\b|__import__|importlib\.import", line)
    ]
    assert found == []


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of bansweep it imports (anywhere in the file, functions included)."""
    files = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            graph[name].update(t for t in targets if t in files and t != name)
    return graph


def circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_imports_form_no_circle() -> None:
    graph = import_graph()
    assert "bansweep.fleet.sources.nmap" in graph["bansweep.fleet.sources"]  # the graph sees the registry's imports
    assert "bansweep.fleet.job" in graph["bansweep.jobs"]
    assert [c for c in circles(graph) if c not in KNOWN_CIRCLES] == []


def test_the_circle_finder_finds_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def _apk() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("AndroidManifest.xml", b"\0" * 64)
        z.writestr("classes.dex", b"dex\n035\0")
    return buf.getvalue()


def test_sweep_sniffs_each_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("network-scan.xml", "cmdb-export.csv", "suppliers.csv"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    (tmp_path / "app.apk").write_bytes(_apk())
    (tmp_path / "notes.bin").write_bytes(b"\x00\x01junk")
    calls: Counter[tuple[str, str]] = Counter()

    def counted(job: str, func: Callable[..., Any], path_of: Callable[..., Path]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[job, path_of(*args).name] += 1
            return func(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(containers, "detect", counted("firmware", containers.detect, lambda path, head: path))
    monkeypatch.setattr(fleet_sources, "sniff", counted("fleet", fleet_sources.sniff, lambda item, *_: item.path))
    monkeypatch.setattr("bansweep.parties.job.sniff", counted("parties", jobs.parties.sniff, lambda item: item.path))
    report = jobs.sweep([tmp_path], {})
    assert report.summary["formats"] == {
        str(tmp_path / "app.apk"): "apk",
        str(tmp_path / "cmdb-export.csv"): "inventory-csv",
        str(tmp_path / "network-scan.xml"): "nmap",
        str(tmp_path / "suppliers.csv"): "parties-csv",
    }
    assert {f.rule.split(".")[0] for f in report.findings} == {"fleet", "parties", "firmware"}
    assert any(e.location.file.endswith("app.apk") for e in report.errors)  # the firmware job read it
    assert {f.status.value for f in report.findings if f.rule.startswith("firmware.")} == {"not-screened"}
    assert [k for k, n in calls.items() if n > 1] == []
    # each file was sniffed by the jobs before its own, and by its own once
    assert calls == {
        **{("firmware", name): 1 for name in ("app.apk", "cmdb-export.csv", "network-scan.xml", "notes.bin")},
        **{("firmware", "suppliers.csv"): 1},
        **{("fleet", name): 1 for name in ("cmdb-export.csv", "network-scan.xml", "notes.bin", "suppliers.csv")},
        **{("parties", name): 1 for name in ("notes.bin", "suppliers.csv")},
    }


def test_sweep_hands_each_job_its_options(tmp_path: Path) -> None:
    from bansweep.cli import main

    shared_list = ROOT.parent / "shared" / "data" / "csl-sample-13.csv"
    for name in ("cmdb-export.csv", "suppliers.csv"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    out = tmp_path / "r.json"
    args = ["sweep", "--format", "json", "-o", str(out), "--fail-on", "never", "--as-of", "2020-06-30"]
    args += ["--list", str(shared_list), "--map", "country=City", "--map", "hostname=location", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 4), result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["data_versions"]["as_of"] == "2020-06-30"
    assert "csl" in doc["summary"]["parties.lists"] and "fcc-covered-list" not in doc["summary"]["parties.lists"]
    assert doc["summary"]["parties.mapping"][str(tmp_path / "suppliers.csv")]["country"] == "City"
    assert doc["summary"]["fleet.mappings"][str(tmp_path / "cmdb-export.csv")]["hostname"] == "location"


def test_sweep_splits_a_mapping_by_the_fields_each_job_knows() -> None:
    from bansweep.cli import _split_mapping

    fleet_map, parties_map = _split_mapping({"mac": "M", "name": "N", "manufacturer": "Make", "aka": "A"})
    assert fleet_map == {"mac": "M", "manufacturer": "Make"}
    assert parties_map == {"name": "N", "manufacturer": "Make", "aka": "A"}


def test_route_decides_once_and_says_why_not(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "network-scan.xml", tmp_path / "scan.dat")
    (tmp_path / "empty.txt").write_bytes(b"")
    routing = jobs.route([tmp_path, tmp_path / "missing"])
    assert [(r.path.name, r.job, r.format) for r in routing.inputs] == [("scan.dat", jobs.FLEET, "nmap")]
    assert routing.of(jobs.FLEET) == routing.inputs and routing.of(jobs.PARTIES) == []
    messages = sorted((Path(e.location.file).name, e.message) for e in routing.errors)
    assert messages == [("empty.txt", "empty file"), ("missing", "no such file or directory")]
    assert jobs.FLEET.sniff(InputFile(tmp_path / "scan.dat", (tmp_path / "scan.dat").read_bytes())) == "nmap"
