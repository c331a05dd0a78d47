"""What a firmware container is: a file format that holds other files (an image, an archive), opened into Items."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from bansweep.findings import InputError
from bansweep.firmware.containers.item import ContainerContext, Item, Where


@runtime_checkable
class Container(Protocol):
    @property
    def name(self) -> str:
        """The container's name, as input errors and the report's "formats" give it."""

    def detect(self, path: Path, head: bytes) -> str | None:
        """The kind of the file if this container opens it (its name, or a finer kind such as "ota-zip"), else
        None. "apk" is a zip that is one input item, not opened."""

    def open(self, path: Path, where: Where, ctx: ContainerContext) -> Iterator[Item | InputError]:
        """The files inside, as Items with firmware paths; what cannot be read as InputErrors (or FormatError)."""
