"""CycloneDX JSON BOMs (1.4–1.6): device, firmware and hardware components, nested ones included.

A device component gives one Observation (manufacturer from manufacturer/supplier/publisher, model from its
name or a model property, serial/MAC from properties, CPE); a firmware component inside a device adds its
name and version as that device's firmware. Firmware outside any device is its own Observation. The location of
each is the component's JSON pointer (Location.field).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bansweep.findings import InputError, Location
from bansweep.fleet.model import Observation
from bansweep.fleet.sources.common import MAX_RECORDS, clip, fast_mac
from bansweep.tables.json_rows import load as load_json

FORMAT = "cyclonedx"
DEVICE_TYPES = {"device", "hardware"}
FIRMWARE_TYPES = {"firmware"}
# property name (lower case, any namespace prefix) fragment -> field
PROPERTY_FIELDS = (
    ("serial", "serial"),
    ("mac", "mac"),
    ("model", "model"),
    ("brand", "brand"),
    ("hostname", "hostname"),
)


def sniff(head: bytes, text: str | None, path: Path) -> bool:
    return text is not None and text.lstrip().startswith("{") and '"bomFormat"' in text and "CycloneDX" in text


def parse(path: Path, mapping: dict[str, str] | None = None) -> Iterator[Observation | InputError]:
    file = str(path)
    bom = load_json(path)
    if not isinstance(bom, dict) or bom.get("bomFormat") != "CycloneDX":
        yield InputError(Location(file), 'not a CycloneDX BOM (no "bomFormat": "CycloneDX")')
        return
    roots: list[tuple[Any, str]] = []
    meta = bom.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("component"), dict):
        roots.append((meta["component"], "/metadata/component"))
    components = bom.get("components", [])
    if not isinstance(components, list):
        yield InputError(Location(file, field="/components"), "components is not a list")
        components = []
    roots.extend((c, f"/components/{i}") for i, c in enumerate(components))
    count = 0
    stack = list(reversed(roots))
    while stack:
        component, pointer = stack.pop()
        count += 1
        if count > MAX_RECORDS:
            yield InputError(Location(file), f"more than {MAX_RECORDS} components; the rest were not read")
            return
        if not isinstance(component, dict):
            yield InputError(Location(file, field=pointer), "component is not an object")
            continue
        kind = component.get("type")
        children = component.get("components") or []
        if not isinstance(children, list):
            yield InputError(Location(file, field=f"{pointer}/components"), "components is not a list")
            children = []
        if kind in DEVICE_TYPES:
            yield from _device(component, pointer, file)
            # firmware directly inside a device was folded into it; other children are examined on their own
            children_left = [(c, f"{pointer}/components/{i}") for i, c in enumerate(children) if not _firmware(c)]
        else:
            if kind in FIRMWARE_TYPES:
                yield from _device(component, pointer, file)
            children_left = [(c, f"{pointer}/components/{i}") for i, c in enumerate(children)]
        stack.extend(reversed(children_left))


def _firmware(component: Any) -> bool:
    return isinstance(component, dict) and component.get("type") in FIRMWARE_TYPES


def _org(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or "")
    return str(value) if isinstance(value, str) else ""


def _device(component: dict[str, Any], pointer: str, file: str) -> Iterator[Observation | InputError]:
    facts: dict[str, str] = {}
    fields: dict[str, str] = {}
    attrs: dict[str, str] = {}

    def put(fact: str, value: Any, key: str) -> None:
        if isinstance(value, str) and value.strip() and fact not in facts:
            facts[fact] = clip(value)
            fields[fact] = f"{pointer}/{key}"

    for key in ("manufacturer", "supplier", "publisher", "author"):
        put("manufacturer", _org(component.get(key)), key)
    name, version = component.get("name"), component.get("version")
    if component.get("type") in FIRMWARE_TYPES:
        put("firmware", " ".join(str(v) for v in (name, version) if isinstance(v, str) and v), "name")
    else:
        put("model", name, "name")
        for i, child in enumerate(component.get("components") or []):
            if _firmware(child):
                text = " ".join(str(child.get(k)) for k in ("name", "version") if isinstance(child.get(k), str))
                put("firmware", text, f"components/{i}")
                put("manufacturer", _org(child.get("manufacturer")) or _org(child.get("supplier")), f"components/{i}")
    put("cpe", component.get("cpe"), "cpe")
    put("service.banner", component.get("description"), "description")
    properties = component.get("properties") or []
    if isinstance(properties, list):
        for i, prop in enumerate(properties):
            if not isinstance(prop, dict) or not isinstance(prop.get("value"), str):
                continue
            pname = str(prop.get("name", "")).lower().rsplit(":", 1)[-1]
            for fragment, target in PROPERTY_FIELDS:
                if fragment in pname:
                    if target in ("serial", "mac", "hostname"):
                        attrs.setdefault(target, prop["value"].strip())
                        fields.setdefault(target, f"{pointer}/properties/{i}")
                    else:
                        put(target, prop["value"], f"properties/{i}")
                    break
    mac = None
    if attrs.get("mac"):
        mac = fast_mac(attrs["mac"])
        if mac is None:
            yield InputError(Location(file, field=fields["mac"]), f"not a MAC address: {attrs['mac'][:40]!r}")
    where = Location(file, field=pointer)
    yield Observation(FORMAT, where, mac, None, attrs.get("hostname"), attrs.get("serial"), facts, fields)
