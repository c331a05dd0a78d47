"""Crash classes the fuzz campaign found, each at its cause, and containment: one input's unexpected exception is an
error naming that input, and the batch goes on."""

from __future__ import annotations

import dataclasses
import errno
import io
import os
import tarfile
from pathlib import Path

import pytest

from bansweep.findings import InputError
from bansweep.firmware import containers, job
from bansweep.firmware.containers import Item, directory, ext4, open_input, sniff_dir
from bansweep.firmware.formats import elf
from bansweep.firmware.limits import FormatError, InternalError
from bansweep.inputs import InputFile, walk

FIXTURES = Path(__file__).parent / "fixtures" / "firmware" / "formats"
TOO_LONG = "n" * 300  # one name over NAME_MAX: stat raises ENAMETOOLONG, even for root


def split(results: object) -> tuple[dict[str, Item], list[InputError]]:
    items: dict[str, Item] = {}
    errors: list[InputError] = []
    for r in results:  # type: ignore[attr-defined]
        if isinstance(r, InputError):
            errors.append(r)
        else:
            items[r.path] = r
    return items, errors


# --- links that cannot be resolved ---------------------------------------------------------------------------


@pytest.fixture()
def unresolvable(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("x\n")
    (folder / "sub" / "b.csv").write_text("y\n")
    (folder / "long").symlink_to(TOO_LONG)
    (folder / "system").symlink_to(TOO_LONG)  # a tree marker that cannot be looked at
    return folder


def test_walk_reports_a_link_it_cannot_resolve(unresolvable: Path) -> None:
    out = list(walk([unresolvable]))
    files = sorted(i.path.name for i in out if isinstance(i, InputFile))
    errors = {Path(e.location.file).name: e.message for e in out if isinstance(e, InputError)}
    assert files == ["a.csv", "b.csv"]
    assert "cannot be resolved" in errors["long"] and "too long" in errors["long"].lower()


def test_walk_reports_permission_denied(unresolvable: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root reads everything; the denial an ordinary user gets is injected."""
    (unresolvable / "locked").symlink_to(unresolvable / "sub" / "b.csv")
    real_stat = os.stat

    def stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if str(path).endswith("locked"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", stat)
    out = list(walk([unresolvable, unresolvable / "locked"]))
    errors = [(Path(e.location.file).name, e.message) for e in out if isinstance(e, InputError)]
    assert ("locked", "symbolic link cannot be resolved: Permission denied") in errors
    assert ("locked", "cannot read: Permission denied") in errors  # the same link named as an input


def test_firmware_containers_survive_unresolvable_links(unresolvable: Path) -> None:
    assert sniff_dir(unresolvable) is False
    items, errors = split(open_input(unresolvable))
    assert {"a.csv", "sub/b.csv", "long", "system"} <= set(items)  # links are listed, never followed
    items, errors = split(open_input(unresolvable / "long"))
    assert items == {} and len(errors) == 1 and "File name too long" in errors[0].message


# --- symlinks to folders ------------------------------------------------------------------------------------


def test_links_to_folders_are_not_followed_by_default(tmp_path: Path) -> None:
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    (elsewhere / "passwd").write_text("root:x:0:0\n")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "etc").symlink_to(elsewhere)
    (folder / "file-link").symlink_to(elsewhere / "passwd")
    out = list(walk([folder]))
    assert [i.path.name for i in out if isinstance(i, InputFile)] == ["file-link"]
    errors = [e for e in out if isinstance(e, InputError)]
    assert len(errors) == 1 and errors[0].location.file == str(folder / "etc")
    assert "not followed" in errors[0].message and "--follow-symlinks" in errors[0].message
    followed = list(walk([folder], follow_symlinks=True))
    assert sorted(str(i.path) for i in followed if isinstance(i, InputFile)) == [
        str(folder / "etc" / "passwd"),
        str(folder / "file-link"),
    ]
    assert not [e for e in followed if isinstance(e, InputError)]


def test_followed_links_still_cut_loops(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("x")
    (tmp_path / "a" / "self").symlink_to(tmp_path / "a")
    out = list(walk([tmp_path / "a"], follow_symlinks=True))
    assert [i.path.name for i in out if isinstance(i, InputFile)] == ["f"]
    assert any("loop" in e.message for e in out if isinstance(e, InputError))


# --- a factory tar truncated inside a member ----------------------------------------------------------------


def truncated_tar(tmp_path: Path) -> Path:
    apk = (FIXTURES / "spy.apk").read_bytes()
    native = (FIXTURES / "native.elf").read_bytes()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data, mode in (
            ("system/build.prop", b"ro.product.model=x\n", 0o644),
            ("system/bin/agent", native, 0o4755),  # setuid: its strings are read
            ("system/app/Spy/Spy.apk", apk, 0o644),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    data = buf.getvalue()
    out = tmp_path / "factory.tar"
    cut = data.index(apk[:64]) + len(apk) // 2  # inside the APK's data: every header is intact
    out.write_bytes(data[:cut])
    return out


def test_truncated_tar_member_is_an_entry_error(tmp_path: Path) -> None:
    items, errors = split(open_input(truncated_tar(tmp_path)))
    apk = items["system/app/Spy/Spy.apk"]
    with pytest.raises(FormatError, match="truncated") as exc:
        apk.read()
    assert not isinstance(exc.value, InternalError)
    assert items["system/build.prop"].read() == b"ro.product.model=x\n"


def test_truncated_tar_through_the_firmware_job(tmp_path: Path) -> None:
    tar = truncated_tar(tmp_path)
    good = tmp_path / "good.apk"
    good.write_bytes((FIXTURES / "spy.apk").read_bytes())
    report = job.run([tar, good], job.Options(workers=1, show_progress=False))
    assert any(e.location.entry == "system/app/Spy/Spy.apk" and "truncated" in e.message for e in report.errors)
    assert report.summary[str(good)]["apps"] == 1  # the batch went on


# --- containment: an injected failure in each reader, parser and container ----------------------------------


class Boom(Exception):
    pass


def boom(*_args: object, **_kwargs: object) -> None:
    raise Boom("injected")


def test_injected_failure_in_a_container_is_an_error_naming_the_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tree" / "system").mkdir(parents=True)
    (tmp_path / "tree" / "system" / "build.prop").write_text("a=b\n")
    monkeypatch.setattr(directory, "walk_tree", boom)
    items, errors = split(open_input(tmp_path / "tree"))
    assert items == {} and len(errors) == 1
    assert errors[0].location.file == str(tmp_path / "tree")
    assert "internal error Boom" in errors[0].message and "injected" in errors[0].message


@pytest.mark.parametrize(
    ("module", "name", "kind"),
    [
        (ext4, "Ext4", "ext4"),
        (containers.archive, "open_zip", "zip"),
        (containers.sparse, "read_header", "sparse"),
    ],
)
def test_injected_failure_in_a_nested_container(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: object, name: str, kind: str
) -> None:
    monkeypatch.setattr(containers, "detect", lambda path, head: kind)
    monkeypatch.setattr(module, name, boom)
    image = tmp_path / "x.img"
    image.write_bytes(bytes(4096))
    items, errors = split(open_input(image))
    assert items == {} and len(errors) == 1
    assert errors[0].location.file == str(image) and "internal error Boom" in errors[0].message


def test_injected_failure_in_an_item_reader(tmp_path: Path) -> None:
    item = Item("x", location=None, size=1, reader=boom)  # type: ignore[arg-type]
    with pytest.raises(InternalError, match="Boom"):
        item.read()


def test_injected_failure_in_a_parser_is_an_error_and_the_batch_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """parse_elf runs in the firmware job's own process (strings of setuid binaries): its bug must stay this input's."""
    tree = tmp_path / "fw"
    (tree / "system" / "bin").mkdir(parents=True)
    (tree / "system" / "build.prop").write_text("ro.product.model=x\n")
    agent = tree / "system" / "bin" / "agent"
    agent.write_bytes((FIXTURES / "native.elf").read_bytes())
    agent.chmod(0o4755)
    good = tmp_path / "good.apk"
    good.write_bytes((FIXTURES / "spy.apk").read_bytes())
    monkeypatch.setattr(elf, "_sections", boom)
    report = job.run([tree, good], job.Options(workers=1, show_progress=False))
    errors = [e for e in report.errors if e.location.file == str(agent)]
    assert len(errors) == 1 and "internal error Boom" in errors[0].message
    assert report.summary[str(good)]["apps"] == 1


def test_an_exception_in_a_worker_is_an_error_for_that_input_only() -> None:
    from bansweep.findings import Location
    from bansweep.firmware.limits import Limits
    from bansweep.firmware.workers import map_isolated

    jobs = [(Location("a.apk"), "1"), (Location("b.apk"), "not a number"), (Location("c.apk"), "3")]
    results = dict(map_isolated(int, jobs, Limits(max_seconds=30), workers=1))
    assert results[Location("a.apk")] == 1 and results[Location("c.apk")] == 3
    error = results[Location("b.apk")]
    assert isinstance(error, InputError) and error.location == Location("b.apk")
    assert error.message.startswith("internal error ValueError in the analysis (invalid literal")


class Broken:
    """Stands in for a module a parser uses; every attribute raises, as a parser bug on odd input would."""

    def __getattr__(self, name: str) -> object:
        raise Boom(f"injected into {name}")


def _apk_part(name: str) -> bytes:
    from bansweep.firmware.formats.zipfile import open_zip

    z = open_zip((FIXTURES / "spy.apk").read_bytes())
    return z.read(z.find(name))  # type: ignore[arg-type]


def _parsers() -> list[tuple[str, object, object, str]]:
    """(name, call, module, what in it to break) for every parser entry point."""
    from bansweep.firmware.formats import arsc, axml, dex, initrc, oat, props, signing, zipfile

    apk = (FIXTURES / "spy.apk").read_bytes()
    z = zipfile.open_zip(apk)
    deflated = next(e for e in z.entries if e.method == zipfile.DEFLATED)
    return [
        ("parse_manifest", lambda: axml.parse_manifest(_apk_part("AndroidManifest.xml")), axml, "struct"),
        ("parse_xml", lambda: axml.parse_xml(_apk_part("AndroidManifest.xml")), axml, "struct"),
        ("parse_arsc", lambda: arsc.parse_arsc(_apk_part("resources.arsc")), arsc, "struct"),
        ("parse_dex", lambda: dex.parse_dex(_apk_part("classes.dex")), dex, "struct"),
        ("parse_elf", lambda: elf.parse_elf((FIXTURES / "native.elf").read_bytes()), elf, "struct"),
        ("carve", lambda: oat.carve(b"vdex027\x00" + bytes(24) + _apk_part("classes.dex")), oat, "struct"),
        ("open_zip", lambda: zipfile.open_zip(apk), zipfile, "struct"),
        ("ZipArchive.read", lambda: z.read(deflated), zipfile, "zlib"),
        ("signing_info", lambda: signing.signing_info(z, apk), signing, "struct"),
        ("parse_initrc", lambda: initrc.parse_initrc("service a /bin/a\n"), initrc, "_logical_lines"),
        ("parse_props", lambda: props.parse_props("a=b\n"), props, "PropList"),
    ]


@pytest.mark.parametrize("case", _parsers(), ids=lambda c: c[0])
def test_injected_failure_in_every_parser_is_a_format_error(
    case: tuple[str, object, object, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, call, module, part = case
    monkeypatch.setattr(module, part, boom if part[0] in "_P" else Broken())
    with pytest.raises(InternalError, match="internal error Boom") as exc:
        call()  # type: ignore[operator]
    assert isinstance(exc.value, FormatError) and exc.value.kind == "Boom"


@pytest.mark.parametrize("kind", [c.name for c in containers.CONTAINERS])
def test_injected_failure_in_every_container_is_an_error_naming_the_input(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(containers, "detect", lambda path, head: kind)
    patched = tuple(dataclasses.replace(c, open=boom) if c.name == kind else c for c in containers.CONTAINERS)
    monkeypatch.setattr(containers, "CONTAINERS", patched)
    one, two = tmp_path / "one.img", tmp_path / "two.img"
    one.write_bytes(b"x")
    two.write_bytes(b"y")
    for path in (one, two):  # the second input is read as if nothing happened to the first
        items, errors = split(open_input(path))
        assert items == {} and len(errors) == 1
        assert errors[0].location.file == str(path)
        assert errors[0].message.startswith(f"{kind}: internal error Boom") and "injected" in errors[0].message
