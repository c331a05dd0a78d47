"""Android binary XML (AXML) and the AndroidManifest.xml facts that matter for an audit.

Follows Android's own parser where analysis tools are known to differ: framework attributes are identified by the
resource ID in the resource map (an attribute renamed in the string pool keeps its meaning; a string that merely
says "android:name" without the ID means nothing to Android), unknown chunks are skipped, and every count, size
and offset is checked against the chunk that holds it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from bansweep.firmware.limits import FormatError, total

XML, STRING_POOL, RESOURCE_MAP = 0x0003, 0x0001, 0x0180
NS_START, NS_END, ELEM_START, ELEM_END, CDATA = 0x0100, 0x0101, 0x0102, 0x0103, 0x0104
UTF8_FLAG = 0x100
NO_INDEX = 0xFFFFFFFF
ANDROID_NS = "http://schemas.android.com/apk/res/android"
MAX_NODES = 200_000
MAX_DEPTH = 200
MAX_STRING_CHARS = 1 << 16

# Framework attribute IDs, checked against `aapt dump resources` of Debian's android-framework-res (Android 10).
ATTR_IDS = {
    0x01010001: "label",
    0x01010002: "icon",
    0x01010003: "name",
    0x01010006: "permission",
    0x01010007: "readPermission",
    0x01010008: "writePermission",
    0x01010009: "protectionLevel",
    0x0101000A: "permissionGroup",
    0x0101000B: "sharedUserId",
    0x0101000D: "persistent",
    0x0101000E: "enabled",
    0x0101000F: "debuggable",
    0x01010010: "exported",
    0x01010011: "process",
    0x01010018: "authorities",
    0x0101001B: "grantUriPermissions",
    0x0101001C: "priority",
    0x01010021: "targetPackage",
    0x01010024: "value",
    0x01010025: "resource",
    0x01010026: "mimeType",
    0x01010027: "scheme",
    0x01010028: "host",
    0x01010029: "port",
    0x0101002A: "path",
    0x0101002B: "pathPrefix",
    0x0101002C: "pathPattern",
    0x0101020C: "minSdkVersion",
    0x0101021B: "versionCode",
    0x0101021C: "versionName",
    0x01010202: "targetActivity",
    0x01010270: "targetSdkVersion",
    0x01010271: "maxSdkVersion",
    0x01010272: "testOnly",
    0x01010280: "allowBackup",
    0x010103A9: "isolatedProcess",
    0x010104EC: "usesCleartextTraffic",
    0x01010505: "directBootAware",
    0x01010527: "networkSecurityConfig",
}

PROTECTION_BASE = {0: "normal", 1: "dangerous", 2: "signature", 3: "signatureOrSystem"}
PROTECTION_FLAGS = {
    0x10: "privileged",
    0x20: "development",
    0x40: "appop",
    0x80: "pre23",
    0x100: "installer",
    0x200: "verifier",
    0x400: "preinstalled",
    0x800: "setup",
    0x1000: "instant",
    0x2000: "runtime",
    0x4000: "oem",
    0x8000: "vendorPrivileged",
    0x10000: "textClassifier",
}
COMPONENT_KINDS = ("activity", "activity-alias", "service", "receiver", "provider")
USES_PERMISSION_TAGS = ("uses-permission", "uses-permission-sdk-23", "uses-permission-sdk-m")

Value = str | int | bool | float | None


@dataclass(slots=True)
class XmlNode:
    tag: str
    attrs: dict[str, Value]  # framework attributes as "android:NAME"; other namespaced ones as "{uri}NAME"
    children: list[XmlNode] = field(default_factory=list)
    line: int = 0
    text: str = ""  # character data directly inside the element (e.g. <domain>host</domain>), at most MAX_STRING_CHARS

    def find_all(self, tag: str) -> list[XmlNode]:
        return [c for c in self.children if c.tag == tag]

    def android(self, name: str) -> Value:
        return self.attrs.get("android:" + name)


@dataclass(slots=True)
class IntentFilter:
    actions: list[str]
    categories: list[str]
    schemes: list[str]
    priority: int


@dataclass(slots=True)
class Component:
    kind: str
    name: str
    exported: bool | None  # as declared
    exported_effective: bool  # as Android decides for this targetSdk
    permission: str | None
    read_permission: str | None = None
    write_permission: str | None = None
    authorities: str | None = None
    intent_filters: list[IntentFilter] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)  # every android: attribute, as text


@dataclass(slots=True)
class PermissionDecl:
    name: str
    protection_level: str


@dataclass(slots=True)
class Manifest:
    package: str
    version_code: int | None
    version_name: str | None
    shared_user_id: str | None
    min_sdk: int
    target_sdk: int
    uses_permissions: list[str]
    permissions: list[PermissionDecl]
    application: dict[str, str]
    components: list[Component]
    issues: list[str] = field(default_factory=list)


class StringPool:
    """Strings decoded on demand; every offset and length is checked against the pool chunk."""

    def __init__(self, data: bytes, start: int, header_size: int, size: int, issues: list[str]):
        self.data = data
        self.end = start + size
        count, _styles, flags, strings_start = struct.unpack_from("<4L", data, start + 8)
        self.utf8 = bool(flags & UTF8_FLAG)
        self.base = start + strings_start
        offsets_at = start + header_size
        room = max(0, (self.end - offsets_at) // 4)
        if count > room:
            issues.append(f"string pool claims {count} strings but has room for {room} offsets")
            count = room
        self.offsets = struct.unpack_from(f"<{count}L", data, offsets_at)
        self.cache: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.offsets)

    def get(self, index: int) -> str | None:
        if index == NO_INDEX or index >= len(self.offsets):
            return None
        s = self.cache.get(index)
        if s is None:
            s = self._decode(self.base + self.offsets[index])
            self.cache[index] = s
        return s

    def _decode(self, pos: int) -> str:
        d, end = self.data, self.end
        if pos >= end:
            return ""
        if self.utf8:
            pos, _ = self._len8(pos)
            pos, n = self._len8(pos)
            return d[pos : min(pos + n, end)].decode("utf-8", "replace")
        if pos + 2 > end:
            return ""
        (n,) = struct.unpack_from("<H", d, pos)
        pos += 2
        if n & 0x8000 and pos + 2 <= end:
            n = ((n & 0x7FFF) << 16) | struct.unpack_from("<H", d, pos)[0]
            pos += 2
        n = min(n, MAX_STRING_CHARS)
        return d[pos : min(pos + 2 * n, end)].decode("utf-16-le", "replace")

    def _len8(self, pos: int) -> tuple[int, int]:
        if pos >= self.end:
            return pos, 0
        n = self.data[pos]
        if n & 0x80 and pos + 1 < self.end:
            return pos + 2, ((n & 0x7F) << 8) | self.data[pos + 1]
        return pos + 1, n


def typed_value(pool: StringPool, raw: int, dtype: int, val: int) -> Value:
    if dtype == 0x03:
        return pool.get(val)
    if dtype == 0x12:
        return val != 0
    if dtype in (0x10,):
        return val - (1 << 32) if val & 0x80000000 else val
    if dtype == 0x11 or 0x1C <= dtype <= 0x1F:
        return val
    if dtype == 0x01:
        return f"@0x{val:08x}"
    if dtype == 0x02:
        return f"?0x{val:08x}"
    if dtype == 0x04:
        return struct.unpack("<f", struct.pack("<L", val))[0]
    if raw != NO_INDEX:
        return pool.get(raw)
    return None


def _parse(data: bytes, issues: list[str]) -> XmlNode:
    data = bytes(data)
    n = len(data)
    if n < 8:
        raise FormatError("binary XML: shorter than a chunk header", 0)
    ctype, hsize, size = struct.unpack_from("<HHL", data, 0)
    if ctype != XML:
        if data[:1] == b"<" or data[:5] == b"\xef\xbb\xbf<?":
            raise FormatError("text XML, not compiled binary XML", 0)
        issues.append(f"outer chunk type 0x{ctype:04x}, expected 0x0003")
    if size > n:
        issues.append(f"XML chunk claims {size} bytes, file has {n}")
    end = min(max(size, hsize), n) if size >= 8 else n
    pos = hsize if 8 <= hsize < end else 8
    pool: StringPool | None = None
    resmap: tuple[int, ...] = ()
    root: XmlNode | None = None
    stack: list[XmlNode] = []
    nodes = 0
    while pos + 8 <= end:
        ctype, hsize, size = struct.unpack_from("<HHL", data, pos)
        if size < 8 or hsize < 8 or hsize > size or pos + size > end:
            raise FormatError(f"binary XML: bad chunk (type 0x{ctype:04x}, header {hsize}, size {size})", pos)
        if ctype == STRING_POOL:
            if pool is None:
                if hsize < 28:
                    raise FormatError("binary XML: string pool header too small", pos)
                pool = StringPool(data, pos, hsize, size, issues)
            else:
                issues.append(f"second string pool at offset {pos} ignored")
        elif ctype == RESOURCE_MAP:
            if not resmap:
                cnt = (size - hsize) // 4
                resmap = struct.unpack_from(f"<{cnt}L", data, pos + hsize)
        elif ctype in (ELEM_START, ELEM_END, NS_START, NS_END, CDATA):
            if pool is None:
                raise FormatError("binary XML: element before the string pool", pos)
            nodes += 1
            if nodes > MAX_NODES:
                raise FormatError(f"binary XML: more than {MAX_NODES} nodes", pos)
            if ctype == ELEM_START:
                node = _element(data, pos, hsize, size, pool, resmap)
                if stack:
                    stack[-1].children.append(node)
                elif root is None:
                    root = node
                else:
                    issues.append(f"second top-level element <{node.tag}> at offset {pos} ignored")
                    node = XmlNode(node.tag, node.attrs)
                if len(stack) >= MAX_DEPTH:
                    raise FormatError(f"binary XML: nesting deeper than {MAX_DEPTH}", pos)
                stack.append(node)
            elif ctype == ELEM_END:
                if stack:
                    stack.pop()
                else:
                    issues.append(f"unbalanced end element at offset {pos}")
            elif ctype == CDATA and stack and pos + hsize + 4 <= pos + size:
                (text_i,) = struct.unpack_from("<L", data, pos + hsize)
                top = stack[-1]
                top.text = (top.text + (pool.get(text_i) or ""))[:MAX_STRING_CHARS]
        else:
            issues.append(f"unknown chunk type 0x{ctype:04x} at offset {pos} skipped")
        pos += size
    if root is None:
        raise FormatError("binary XML: no element", pos)
    if stack:
        issues.append(f"{len(stack)} element(s) not closed")
    return root


def _element(data: bytes, pos: int, hsize: int, size: int, pool: StringPool, resmap: tuple[int, ...]) -> XmlNode:
    (line,) = struct.unpack_from("<L", data, pos + 8)
    ext = pos + hsize
    if ext + 20 > pos + size:
        raise FormatError("binary XML: element chunk too small", pos)
    _ns, name_i, a_start, a_size, a_count = struct.unpack_from("<LLHHH", data, ext)
    attrs: dict[str, Value] = {}
    at = ext + a_start
    if a_size < 20 and a_count:
        raise FormatError(f"binary XML: attribute size {a_size} < 20", pos)
    if at + a_size * a_count > pos + size:
        raise FormatError(f"binary XML: {a_count} attributes run past the element chunk", pos)
    for _ in range(a_count):
        ns_i, an_i, raw, _vsize, _res0, dtype, val = struct.unpack_from("<LLLHBBL", data, at)
        at += a_size
        rid = resmap[an_i] if an_i < len(resmap) else 0
        if rid in ATTR_IDS:
            key = "android:" + ATTR_IDS[rid]
        else:
            aname = pool.get(an_i) or f"#{an_i}"
            ns = pool.get(ns_i)
            if rid >> 24 == 0x01:
                key = "android:" + aname
            elif ns:
                key = f"{{{ns}}}{aname}"
            else:
                key = aname
        attrs.setdefault(key, typed_value(pool, raw, dtype, val))
    return XmlNode(pool.get(name_i) or "", attrs, [], line)


@total
def parse_xml(data: bytes, issues: list[str] | None = None) -> XmlNode:
    """Generic binary-XML tree (e.g. res/xml/network_security_config.xml); inconsistencies go to `issues`."""
    return _parse(data, [] if issues is None else issues)


def _text(v: Value) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _int(v: Value) -> int | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int):
        return v
    try:
        return int(str(v), 0)
    except ValueError:
        return None


def _bool(v: Value) -> bool | None:
    """As Android's TypedArray.getBoolean: numbers by value, text true only for "1", "true" and "TRUE"."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v != 0
    if isinstance(v, str):
        return v in ("1", "true", "TRUE")
    return None


def protection_level(v: Value) -> str:
    if isinstance(v, str) and _int(v) is None:
        return v
    n = _int(v) or 0
    names = [PROTECTION_BASE.get(n & 0xF, f"base{n & 0xF}")]
    names += [name for bit, name in PROTECTION_FLAGS.items() if n & bit]
    return "|".join(names)


def class_name(package: str, name: str) -> str:
    """Android's buildClassName: ".Foo" and "Foo" belong to the package; "a.b.Foo" is already qualified."""
    if name.startswith("."):
        return package + name
    if "." not in name:
        return f"{package}.{name}"
    return name


def _android_attrs(node: XmlNode) -> dict[str, str]:
    return {k[8:]: t for k, v in node.attrs.items() if k.startswith("android:") and (t := _text(v)) is not None}


@total
def parse_manifest(data: bytes) -> Manifest:
    """Facts from a compiled AndroidManifest.xml. Raises FormatError if it is not binary XML at all."""
    issues: list[str] = []
    root = _parse(data, issues)
    if root.tag != "manifest":
        issues.append(f"root element is <{root.tag}>, not <manifest>")
    package = _text(root.attrs.get("package")) or ""
    if not package:
        issues.append("no package name")
    sdk = next(iter(root.find_all("uses-sdk")), None)
    min_sdk = _int(sdk.android("minSdkVersion")) if sdk else None
    target = _int(sdk.android("targetSdkVersion")) if sdk else None
    min_sdk = min_sdk if min_sdk is not None else 1
    target = target if target is not None else min_sdk
    uses = [n for c in root.children if c.tag in USES_PERMISSION_TAGS and (n := _text(c.android("name")))]
    uses = list(dict.fromkeys(uses))
    perms = [
        PermissionDecl(n, protection_level(c.android("protectionLevel")))
        for c in root.find_all("permission")
        if (n := _text(c.android("name")))
    ]
    apps = root.find_all("application")
    if len(apps) > 1:
        issues.append(f"{len(apps)} <application> elements; Android uses the first")
    app = apps[0] if apps else XmlNode("application", {})
    app_attrs = _android_attrs(app)
    if "name" in app_attrs:
        app_attrs["name"] = class_name(package, app_attrs["name"])
    comps = [_component(c, package, target, app_attrs.get("permission"), issues) for c in app.children]
    return Manifest(
        package=package,
        version_code=_int(root.android("versionCode")),
        version_name=_text(root.android("versionName")),
        shared_user_id=_text(root.android("sharedUserId")),
        min_sdk=min_sdk,
        target_sdk=target,
        uses_permissions=uses,
        permissions=perms,
        application=app_attrs,
        components=[c for c in comps if c is not None],
        issues=issues,
    )


def _component(node: XmlNode, package: str, target: int, app_perm: str | None, issues: list[str]) -> Component | None:
    if node.tag not in COMPONENT_KINDS:
        return None
    raw_name = _text(node.android("name"))
    if not raw_name:
        issues.append(f"<{node.tag}> on line {node.line} has no android:name")
        return None
    filters = [
        IntentFilter(
            actions=[a for c in f.find_all("action") if (a := _text(c.android("name")))],
            categories=[a for c in f.find_all("category") if (a := _text(c.android("name")))],
            schemes=[s for c in f.find_all("data") if (s := _text(c.android("scheme")))],
            priority=_int(f.android("priority")) or 0,
        )
        for f in node.find_all("intent-filter")
    ]
    exported = _bool(node.android("exported"))
    if exported is not None:
        effective = exported
    elif node.tag == "provider":
        effective = target < 17
    else:
        effective = bool(filters)
        if filters and target >= 31:
            issues.append(f"{raw_name}: intent filters without android:exported (refused by Android 12+)")
    # Android: an absent permission falls back (to the application's); an empty one means "no permission".
    declared = _text(node.android("permission"))
    perm = (declared or None) if declared is not None else app_perm
    read = write = auth = None
    if node.tag == "provider":
        for_read = _text(node.android("readPermission"))
        for_write = _text(node.android("writePermission"))
        read = (for_read or None) if for_read is not None else perm
        write = (for_write or None) if for_write is not None else perm
        auth = _text(node.android("authorities"))
    return Component(
        kind=node.tag,
        name=class_name(package, raw_name),
        exported=exported,
        exported_effective=effective,
        permission=perm,
        read_permission=read,
        write_permission=write,
        authorities=auth,
        intent_filters=filters,
        attrs=_android_attrs(node),
    )
