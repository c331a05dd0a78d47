"""APEX and compressed APEX (Android 10+ updatable system modules): checked, then opened as the zips they are.

An APEX (AOSP system/apex) is a zip holding apex_manifest.pb (protobuf ApexManifest: name = 1, version = 2,
versionName = 5, from system/apex/proto/apex_manifest.proto; older ones apex_manifest.json), apex_pubkey (the AVB
key of the payload) and apex_payload.img (ext4 or EROFS, with the module's code); a .capex wraps an APEX as
original_apex. The entries are read by the zip reader (archive.py), which opens the payload image and the wrapped
APEX like any nested container. What this adds: an APEX whose code cannot be reached (no payload) is reported,
named by its manifest, instead of passing for an empty module.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from bansweep.findings import InputError
from bansweep.firmware.containers import archive
from bansweep.firmware.containers.item import ContainerContext, Item, Where
from bansweep.firmware.formats.zipfile import ZipArchive, open_zip
from bansweep.firmware.limits import FormatError

NAME = "apex"
SUFFIXES = (".apex", ".capex")
PAYLOAD = "apex_payload.img"
WRAPPED = "original_apex"
MANIFEST_PB, MANIFEST_JSON = "apex_manifest.pb", "apex_manifest.json"
MAX_MANIFEST = 2**20


def _manifest_class() -> Any:
    fdp = descriptor_pb2.FileDescriptorProto(name="bansweep/apex_manifest.proto", package="apex.proto", syntax="proto3")
    msg = fdp.message_type.add(name="ApexManifest")
    F = descriptor_pb2.FieldDescriptorProto
    for name, number, kind in (
        ("name", 1, F.TYPE_STRING),
        ("version", 2, F.TYPE_INT64),
        ("versionName", 5, F.TYPE_STRING),
    ):
        msg.field.add(name=name, number=number, label=F.LABEL_OPTIONAL, type=kind)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("apex.proto.ApexManifest"))


ApexManifest = _manifest_class()


def matches(path: Path, head: bytes) -> bool:
    return head[:4] == b"PK\x03\x04" and path.name.lower().endswith(SUFFIXES)


def manifest(z: ZipArchive) -> tuple[str, int]:
    """(name, version) from apex_manifest.pb or apex_manifest.json; FormatError when neither is readable."""
    entry = z.find(MANIFEST_PB)
    if entry is not None:
        try:
            parsed = ApexManifest.FromString(z.read(entry))
        except FormatError:
            raise
        except Exception as exc:  # protobuf's DecodeError
            raise FormatError(f"{MANIFEST_PB} is not a valid ApexManifest ({exc})") from None
        return str(parsed.name), int(parsed.version)
    entry = z.find(MANIFEST_JSON)
    if entry is None:
        raise FormatError(f"no {MANIFEST_PB} or {MANIFEST_JSON}: not an APEX")
    try:
        doc = json.loads(z.read(entry))
        return str(doc["name"]), int(doc.get("version", 0))
    except (ValueError, KeyError, TypeError) as exc:
        raise FormatError(f"{MANIFEST_JSON} is not a valid APEX manifest ({exc})") from None


def open_container(path: Path, where: Where, ctx: ContainerContext) -> Iterator[Item | InputError]:
    with path.open("rb") as fh:
        data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    z = open_zip(data, ctx.limits)
    if z.find(WRAPPED) is None and z.find(PAYLOAD) is None:  # a .capex is checked when its original_apex is opened
        try:
            name, version = manifest(z)
            what = f"APEX {name} (version {version})"
        except FormatError as exc:
            what = f"APEX ({exc.message})"
        yield InputError(where.location(), f"{what} has no {PAYLOAD}: its code was not read")
    yield from archive.open_zip_file(path, where, ctx)
