"""Facts about one app (from its APK and, on odexed firmware, the sibling .odex/.vdex) and about one firmware.

Pure assembly of parser output: no judgement here (that is rules/). Everything is bounded by Limits.
"""

from __future__ import annotations

import hashlib
import posixpath
import stat
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from bansweep.findings import Location
from bansweep.firmware.containers.vbmeta import VbMeta
from bansweep.firmware.formats.arsc import Resources, parse_arsc
from bansweep.firmware.formats.axml import Manifest, XmlNode, parse_manifest, parse_xml
from bansweep.firmware.formats.cdex import parse_any
from bansweep.firmware.formats.dex import Dex, Members
from bansweep.firmware.formats.elf import parse_elf
from bansweep.firmware.formats.initrc import Service, parse_initrc
from bansweep.firmware.formats.oat import carve
from bansweep.firmware.formats.props import parse_props
from bansweep.firmware.formats.signing import Signing, signing_info
from bansweep.firmware.formats.zipfile import ZipArchive, open_zip
from bansweep.firmware.limits import FormatError, Limits
from bansweep.firmware.reach import CodeIndex, index_dex

PARTITIONS = ("system_ext", "system", "vendor", "product", "odm", "oem", "data")
MAX_DEX_FILES = 64  # classes.dex .. classes64.dex; more is not a real app
MAX_PROP_BYTES = 4 * 2**20
MAX_RC_BYTES = 2 * 2**20
MAX_ELF_BYTES = 64 * 2**20
PROP_FILES = ("build.prop", "default.prop", "prop.default", "local.prop")
CODE_SUFFIXES = (".apk", ".jar")
MAX_NET_CONFIGS = 4  # resource configurations of android:networkSecurityConfig read (e.g. xml/ and xml-v28/)
DEFAULT_LIMITS = Limits()


class Refs:
    """Member references over every dex of an app: `(class descriptor, name) in refs`."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[Members] = []

    def __contains__(self, pair: object) -> bool:
        return any(pair in part for part in self.parts)


@dataclass(slots=True)
class DexFacts:
    """What the code holds, merged over every dex of an app (classes*.dex or carved from odex/vdex)."""

    sources: list[str] = field(default_factory=list)  # entry names the dex came from
    data: bytes = b""  # the string data of every dex, raw, NUL-separated: searched as bytes, never decoded
    # (decoding every string costs more than parsing the dex; every needle the rules look for is ASCII)
    types: set[str] = field(default_factory=set)  # class descriptors defined or referenced ("Lcom/foo/Bar;")
    defined: set[str] = field(default_factory=set)
    methods: Refs = field(default_factory=Refs)  # `(class descriptor, method name) in methods`
    fields: Refs = field(default_factory=Refs)
    compact: int = 0  # CompactDex files seen but not readable
    code: list[tuple[bytes, Dex]] = field(default_factory=list)  # each dex of an app, kept for code_index()
    _index: CodeIndex | None = None

    def code_index(self) -> CodeIndex | None:
        """Per class, what its bytecode refers to: walked on first use (apps only; None for JARs). The walk costs
        about ten times the dex parse, so rules ask for it only when the answer changes a verdict."""
        if self._index is None and self.code:
            self._index = CodeIndex()
            for data, dex in self.code:
                index_dex(data, dex, self._index)
        return self._index

    @property
    def present(self) -> bool:
        return bool(self.sources)


@dataclass(slots=True)
class NetConfig:
    """One network security config file named by android:networkSecurityConfig, as parsed."""

    entry: str  # "res/xml/network_security_config.xml"
    root: XmlNode


@dataclass(slots=True)
class App:
    path: str  # firmware path ("system/priv-app/Foo/Foo.apk") or the APK's own name
    location: Location
    size: int
    sha256: str
    manifest: Manifest | None
    signing: Signing | None
    dex: DexFacts
    partition: str  # system / vendor / product / system_ext / odm / data, "" when unknown
    priv_app: bool
    net_configs: list[NetConfig] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    errors: list[tuple[Location, str]] = field(default_factory=list)  # parts that could not be read

    @property
    def package(self) -> str:
        return self.manifest.package if self.manifest else self.path

    def where(self, inner: str | None = None, field_name: str | None = None) -> Location:
        """A location inside this app: its own entry chain plus an entry inside the APK."""
        entry = self.location.entry
        if inner:
            entry = f"{entry}!/{inner}" if entry else inner
        return Location(self.location.file, entry=entry, field=field_name)


@dataclass(slots=True)
class FileFact:
    path: str
    location: Location
    size: int
    mode: int | None
    uid: int | None
    gid: int | None

    @property
    def setuid(self) -> bool:
        return self.mode is not None and stat.S_ISREG(self.mode) and bool(self.mode & (stat.S_ISUID | stat.S_ISGID))


@dataclass(slots=True)
class BuildProp:
    key: str
    value: str
    location: Location


@dataclass(slots=True)
class RcService:
    service: Service
    location: Location


@dataclass(slots=True)
class Binary:
    path: str
    location: Location
    data: bytes  # printable strings, NUL-separated


@dataclass(slots=True)
class Firmware:
    name: str  # the input as given
    location: Location
    props: list[BuildProp] = field(default_factory=list)
    services: list[RcService] = field(default_factory=list)
    imports: list[tuple[str, Location]] = field(default_factory=list)
    files: list[FileFact] = field(default_factory=list)
    binaries: list[Binary] = field(default_factory=list)
    platform_certs: set[str] = field(default_factory=set)  # SHA-256 of framework-res.apk's signing certificate
    platform_location: Location | None = None
    analysed: Counter[str] = field(default_factory=Counter)  # what was read, by kind (build_property_files ...)
    vbmeta: list[VbMeta] = field(default_factory=list)  # verified boot metadata images (vbmeta*.img)

    def prop(self, key: str) -> str | None:
        found = [p.value for p in self.props if p.key == key]
        return found[-1] if found else None


def partition_of(path: str) -> str:
    parts = path.split("/")
    if len(parts) > 2 and parts[0] == "system" and parts[1] in PARTITIONS:
        return parts[1]
    return parts[0] if parts and parts[0] in PARTITIONS else ""


def is_priv_app(path: str) -> bool:
    return "priv-app" in path.split("/")[:-1]


def sibling_key(path: str) -> str | None:
    """What ties an APK/JAR to the compiled code Android keeps beside it when the dex was stripped (odexed firmware).

    app/Foo/Foo.apk, app/Foo/oat/<isa>/Foo.odex and app/Foo/oat/<isa>/Foo.vdex share the key "app/Foo/Foo";
    Dalvik-era app/Foo.apk and app/Foo.odex share "app/Foo".
    """
    folder, name = posixpath.split(path)
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        return None
    if suffix in ("apk", "jar"):
        return posixpath.join(folder, stem)
    if suffix not in ("odex", "vdex"):
        return None
    parts = folder.split("/")
    if len(parts) >= 2 and parts[-2] == "oat":
        folder = "/".join(parts[:-2])
    return posixpath.join(folder, stem)


def read_app(
    data: bytes,
    path: str,
    location: Location,
    siblings: Iterable[tuple[str, Location, bytes]] = (),
    limits: Limits = DEFAULT_LIMITS,
) -> App:
    """Facts of one APK (or JAR). Raises FormatError when it is not a readable zip at all."""
    z = open_zip(data, limits)
    app = App(
        path=path,
        location=location,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        manifest=None,
        signing=None,
        dex=DexFacts(),
        partition=partition_of(path),
        priv_app=is_priv_app(path),
    )
    app.issues.extend(z.issues)
    entry = z.find("AndroidManifest.xml")
    if entry is not None:
        try:
            app.manifest = parse_manifest(z.read(entry, limits))
            app.issues.extend(app.manifest.issues)
        except FormatError as exc:
            app.errors.append((app.where("AndroidManifest.xml"), f"manifest: {exc}"))
    elif not path.lower().endswith(".jar"):  # an APK (or a zip routed as one): its manifest is missing
        app.errors.append((app.where(), "no AndroidManifest.xml in the APK"))
    resources = _read_resources(app, z, limits)
    if app.manifest and "networkSecurityConfig" in app.manifest.application:
        _read_net_configs(app, z, resources, app.manifest.application["networkSecurityConfig"], limits)
    try:
        app.signing = signing_info(z, data)
        app.issues.extend(app.signing.issues)
    except FormatError as exc:
        app.errors.append((app.where("META-INF"), f"signature: {exc}"))
    blobs: list[bytes] = []
    seen: set[bytes] = set()
    keep_code = app.manifest is not None or not path.lower().endswith(".jar")  # an app's code: for code_index()
    dex_names = ["classes.dex"] + [f"classes{i}.dex" for i in range(2, MAX_DEX_FILES + 1)]
    for name in dex_names:
        e = z.find(name)
        if e is None:
            break
        try:
            _add_dex(app.dex, blobs, seen, z.read(e, limits), name, keep_code)
        except FormatError as exc:
            app.errors.append((app.where(name), f"dex: {exc}"))
    if not app.dex.present:
        for sib_path, sib_loc, sib_data in siblings:
            try:
                result = carve(sib_data)
            except FormatError as exc:
                app.errors.append((sib_loc, f"odex/vdex: {exc}"))
                continue
            app.dex.compact += len(result.compact)
            app.issues.extend(f"{sib_path}: {issue}" for issue in result.issues)
            for offset, dex in result.dex:
                try:
                    _add_dex(app.dex, blobs, seen, dex, f"{sib_path}@0x{offset:x}", keep_code)
                except FormatError as exc:
                    app.errors.append((sib_loc, f"dex at 0x{offset:x}: {exc}"))
    app.dex.data = b"\x00\x00".join(blobs)
    return app


def _read_resources(app: App, z: ZipArchive, limits: Limits) -> Resources | str | None:
    """The resource table (its inconsistencies are the app's issues), why it is unreadable, or None if absent.

    Android refuses to install an APK whose table it cannot read, so a damaged table is an issue, not a detail."""
    entry = z.find("resources.arsc")
    if entry is None:
        return None
    try:
        res = parse_arsc(z.read(entry, limits))
    except FormatError as exc:
        app.issues.append(f"resources.arsc unreadable: {exc}")
        return str(exc)
    app.issues.extend(f"resources.arsc: {issue}" for issue in res.issues)
    return res


def _read_net_configs(app: App, z: ZipArchive, res: Resources | str | None, ref: str, limits: Limits) -> None:
    at = app.where("AndroidManifest.xml", "networkSecurityConfig")
    names = [ref]
    if ref.startswith("@"):
        if res is None:
            app.errors.append((at, f"network security config {ref}: no resources.arsc to resolve it"))
            return
        if isinstance(res, str):
            app.errors.append((app.where("resources.arsc"), f"resources: {res}"))
            return
        seen = len(res.issues)
        names = res.resolve(ref)
        app.issues.extend(f"resources.arsc: {issue}" for issue in res.issues[seen:])
        if not names:
            app.errors.append((at, f"network security config {ref} not found in resources.arsc"))
    for name in names[:MAX_NET_CONFIGS]:
        entry = z.find(name)
        if entry is None:
            app.errors.append((at, f"network security config {name} is not in the APK"))
            continue
        try:
            issues: list[str] = []
            root = parse_xml(z.read(entry, limits), issues)
            app.issues.extend(f"{name}: {issue}" for issue in issues)
        except FormatError as exc:
            app.errors.append((app.where(name), f"network security config: {exc}"))
            continue
        if root.tag != "network-security-config":
            app.errors.append((app.where(name), f"network security config: root <{root.tag}>, which Android refuses"))
            continue
        app.net_configs.append(NetConfig(name, root))
    if len(names) > MAX_NET_CONFIGS:
        app.issues.append(f"{len(names)} network security configs; the first {MAX_NET_CONFIGS} read")


def _add_dex(facts: DexFacts, blobs: list[bytes], seen: set[bytes], data: bytes, source: str, keep: bool) -> None:
    key = bytes(data[12:32])  # the dex SHA-1 signature: the same dex in odex and vdex is read once
    if key in seen:
        return
    seen.add(key)
    dex = parse_any(data)
    facts.sources.append(source)
    blobs.append(string_region(data, dex))
    if keep:
        facts.code.append((bytes(data), dex))
    facts.types.update(dex.types)
    facts.defined.update(dex.defined_classes)
    facts.methods.parts.append(dex.methods)
    facts.fields.parts.append(dex.fields)


def string_region(data: bytes, dex: Dex) -> bytes:
    """The part of a dex that holds its string data (a fifth to a half of the file), or all of it if unusual.

    Rules search strings as bytes there; taking the span from the parsed string ids saves them scanning code and
    index tables.
    """
    strings = dex.strings
    end = data.find(b"\x00", strings.high + 1) if len(strings) else -1
    if strings.low < 2 or end < 0:
        return bytes(data)
    return bytes(data[strings.low - 2 : end + 1])


def read_props(fw: Firmware, path: str, location: Location, data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    for p in parse_props(text):
        fw.props.append(BuildProp(p.key, p.value, Location(location.file, entry=location.entry, line=p.line)))


def read_rc(fw: Firmware, location: Location, data: bytes) -> None:
    rc = parse_initrc(data.decode("utf-8", "replace"))
    for svc in rc.services:
        fw.services.append(RcService(svc, Location(location.file, entry=location.entry, line=svc.line)))
    for target, line in rc.imports:
        fw.imports.append((target, Location(location.file, entry=location.entry, line=line)))


def read_binary(fw: Firmware, path: str, location: Location, data: bytes) -> None:
    text = "\x00".join(parse_elf(data).strings)
    fw.binaries.append(Binary(path, location, b"\x00" + text.encode("utf-8", "replace") + b"\x00"))


def is_prop_file(path: str) -> bool:
    return posixpath.basename(path) in PROP_FILES


def is_rc_file(path: str) -> bool:
    return path.endswith(".rc")


def is_code(path: str) -> bool:
    return path.lower().endswith(CODE_SUFFIXES)
