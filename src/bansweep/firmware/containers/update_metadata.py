"""The A/B OTA manifest (DeltaArchiveManifest) as protobuf message classes, built at import from descriptors.

No protoc and no generated code: the messages are declared here with descriptor_pb2 and turned into classes by the
protobuf package's message_factory. Field names, numbers, types and labels follow AOSP's
system/update_engine/update_metadata.proto (package chromeos_update_engine, proto2); only what a full-OTA reader
needs, plus the incremental fields so that an incremental payload parses and can be reported as such. Unknown fields
(newer additions) are kept by protobuf and ignored here.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PACKAGE = "chromeos_update_engine"
F = descriptor_pb2.FieldDescriptorProto
OPTIONAL, REQUIRED, REPEATED = F.LABEL_OPTIONAL, F.LABEL_REQUIRED, F.LABEL_REPEATED
U32, U64, I64, BOOL, STRING, BYTES, FIXED32, MESSAGE, ENUM = (
    F.TYPE_UINT32,
    F.TYPE_UINT64,
    F.TYPE_INT64,
    F.TYPE_BOOL,
    F.TYPE_STRING,
    F.TYPE_BYTES,
    F.TYPE_FIXED32,
    F.TYPE_MESSAGE,
    F.TYPE_ENUM,
)

# InstallOperation.Type, as numbered in update_metadata.proto
OPERATION_TYPES = {
    "REPLACE": 0,
    "REPLACE_BZ": 1,
    "MOVE": 2,
    "BSDIFF": 3,
    "SOURCE_COPY": 4,
    "SOURCE_BSDIFF": 5,
    "ZERO": 6,
    "DISCARD": 7,
    "REPLACE_XZ": 8,
    "PUFFDIFF": 9,
    "BROTLI_BSDIFF": 10,
    "ZUCCHINI": 11,
    "LZ4DIFF_BSDIFF": 12,
    "LZ4DIFF_PUFFDIFF": 13,
    "REPLACE_ZSTD": 14,
}
OPERATION_NAMES = {number: name for name, number in OPERATION_TYPES.items()}

# message name -> [(field name, number, label, type, message or enum type name)]
MESSAGES: dict[str, list[tuple[str, int, int, int, str]]] = {
    "Extent": [("start_block", 1, OPTIONAL, U64, ""), ("num_blocks", 2, OPTIONAL, U64, "")],
    "Signatures": [("signatures", 1, REPEATED, MESSAGE, "Signatures.Signature")],
    "Signatures.Signature": [
        ("version", 1, OPTIONAL, U32, ""),
        ("data", 2, OPTIONAL, BYTES, ""),
        ("unpadded_signature_size", 3, OPTIONAL, FIXED32, ""),
    ],
    "PartitionInfo": [("size", 1, OPTIONAL, U64, ""), ("hash", 2, OPTIONAL, BYTES, "")],
    "InstallOperation": [
        ("type", 1, REQUIRED, ENUM, "InstallOperation.Type"),
        ("data_offset", 2, OPTIONAL, U64, ""),
        ("data_length", 3, OPTIONAL, U64, ""),
        ("src_extents", 4, REPEATED, MESSAGE, "Extent"),
        ("src_length", 5, OPTIONAL, U64, ""),
        ("dst_extents", 6, REPEATED, MESSAGE, "Extent"),
        ("dst_length", 7, OPTIONAL, U64, ""),
        ("data_sha256_hash", 8, OPTIONAL, BYTES, ""),
        ("src_sha256_hash", 9, OPTIONAL, BYTES, ""),
    ],
    "PartitionUpdate": [
        ("partition_name", 1, REQUIRED, STRING, ""),
        ("run_postinstall", 2, OPTIONAL, BOOL, ""),
        ("postinstall_path", 3, OPTIONAL, STRING, ""),
        ("filesystem_type", 4, OPTIONAL, STRING, ""),
        ("new_partition_signature", 5, REPEATED, MESSAGE, "Signatures.Signature"),
        ("old_partition_info", 6, OPTIONAL, MESSAGE, "PartitionInfo"),
        ("new_partition_info", 7, OPTIONAL, MESSAGE, "PartitionInfo"),
        ("operations", 8, REPEATED, MESSAGE, "InstallOperation"),
        ("postinstall_optional", 9, OPTIONAL, BOOL, ""),
        ("hash_tree_data_extent", 10, OPTIONAL, MESSAGE, "Extent"),
        ("hash_tree_extent", 11, OPTIONAL, MESSAGE, "Extent"),
        ("hash_tree_algorithm", 12, OPTIONAL, STRING, ""),
        ("hash_tree_salt", 13, OPTIONAL, BYTES, ""),
        ("fec_data_extent", 14, OPTIONAL, MESSAGE, "Extent"),
        ("fec_extent", 15, OPTIONAL, MESSAGE, "Extent"),
        ("fec_roots", 16, OPTIONAL, U32, ""),
        ("version", 17, OPTIONAL, STRING, ""),
    ],
    "DynamicPartitionGroup": [
        ("name", 1, REQUIRED, STRING, ""),
        ("size", 2, OPTIONAL, U64, ""),
        ("partition_names", 3, REPEATED, STRING, ""),
    ],
    "DynamicPartitionMetadata": [
        ("groups", 1, REPEATED, MESSAGE, "DynamicPartitionGroup"),
        ("snapshot_enabled", 2, OPTIONAL, BOOL, ""),
        ("vabc_enabled", 3, OPTIONAL, BOOL, ""),
        ("vabc_compression_param", 4, OPTIONAL, STRING, ""),
        ("cow_version", 5, OPTIONAL, U32, ""),
    ],
    "ApexInfo": [
        ("package_name", 1, OPTIONAL, STRING, ""),
        ("version", 2, OPTIONAL, I64, ""),
        ("is_compressed", 3, OPTIONAL, BOOL, ""),
        ("decompressed_size", 4, OPTIONAL, I64, ""),
    ],
    "DeltaArchiveManifest": [
        ("block_size", 3, OPTIONAL, U32, ""),
        ("signatures_offset", 4, OPTIONAL, U64, ""),
        ("signatures_size", 5, OPTIONAL, U64, ""),
        ("minor_version", 12, OPTIONAL, U32, ""),
        ("partitions", 13, REPEATED, MESSAGE, "PartitionUpdate"),
        ("max_timestamp", 14, OPTIONAL, I64, ""),
        ("dynamic_partition_metadata", 15, OPTIONAL, MESSAGE, "DynamicPartitionMetadata"),
        ("partial_update", 16, OPTIONAL, BOOL, ""),
        ("apex_info", 17, REPEATED, MESSAGE, "ApexInfo"),
        ("security_patch_level", 18, OPTIONAL, STRING, ""),
    ],
}
DEFAULTS = {("DeltaArchiveManifest", "block_size"): "4096", ("PartitionUpdate", "fec_roots"): "2"}


def _file() -> descriptor_pb2.FileDescriptorProto:
    fdp = descriptor_pb2.FileDescriptorProto(name="bansweep/update_metadata.proto", package=PACKAGE, syntax="proto2")
    protos: dict[str, descriptor_pb2.DescriptorProto] = {}
    for full in MESSAGES:  # parents are listed before their nested messages
        outer, _, inner = full.rpartition(".")
        proto = protos[outer].nested_type.add() if outer else fdp.message_type.add()
        proto.name = inner or full
        protos[full] = proto
    op_type = protos["InstallOperation"].enum_type.add(name="Type")
    for name, number in OPERATION_TYPES.items():
        op_type.value.add(name=name, number=number)
    for full, fields in MESSAGES.items():
        for name, number, label, kind, type_name in fields:
            field = protos[full].field.add(name=name, number=number, label=label, type=kind)
            if type_name:
                field.type_name = f".{PACKAGE}.{type_name}"
            default = DEFAULTS.get((full, name))
            if default is not None:
                field.default_value = default
    return fdp


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file())


def message(name: str) -> Any:
    """The message class for `name` (e.g. "DeltaArchiveManifest", "InstallOperation")."""
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{PACKAGE}.{name}"))


DeltaArchiveManifest = message("DeltaArchiveManifest")
