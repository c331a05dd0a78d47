"""A device's inventory context: where it is, who has it, whether it is still in use, when it was bought or
installed, its asset tag. Inventory columns mapped like the others (knowledge/data/headers.yaml); the status
words that mean "no longer in use" are knowledge data too (knowledge/data/install-status.yaml).

The inventory readers keep context values apart from the facts attribution reads (Observation.context), dates
already read into YYYY-MM-DD (fleet/dates.py: a date they cannot read stays as written, and is an input error at
its row; how a numeric date's day/month order was told is said with the judgement made at it).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bansweep import knowledge
from bansweep.findings import Location
from bansweep.fleet.dates import is_day
from bansweep.knowledge.schema import InstallStatus
from bansweep.tables.headers import fold

FIELDS = ("location", "owner", "install_status", "purchase_date", "install_date", "asset_tag")
DATES = ("purchase_date", "install_date")  # the date that judges ownership windows: the first one present
WORDS = {
    "location": "location",
    "owner": "owner",
    "install_status": "install status",
    "purchase_date": "purchase date",
    "install_date": "install date",
    "asset_tag": "asset tag",
}
NOT_SIGHTINGS = ("inventory", "cyclonedx")  # sources that record a device without seeing it in use
NOT_IN_USE = "not-in-use"  # tag of a device recorded as retired, disposed of, lost or stolen
NOT_COUNTED = "not-counted"  # tag of a finding left out of the in-use counts and of --fail-on


class StatusWords:
    """The install status values that mean a device is no longer in use."""

    def __init__(self, overlays: Sequence[Path] = ()) -> None:
        self.names: dict[str, str] = {}  # folded name -> label
        self.codes: dict[tuple[str, str], str] = {}  # (folded column, code) -> label
        for entry in knowledge.facts(InstallStatus, overlays).entries:
            for name in entry.names:
                self.names.setdefault(fold(name), name)
            for column in entry.code_columns:
                for code in entry.codes:
                    self.codes[fold(column), code] = entry.label
        self._cache: dict[tuple[str, str], str | None] = {}

    def not_in_use(self, value: str, column: str = "") -> str | None:
        """How the report names the status when `value` (in `column`) means not in use, else None."""
        key = (value, column)
        if key in self._cache:
            return self._cache[key]
        text = value.strip()
        label = None
        code = self.codes.get((fold(column), text))
        if code is not None:
            label = f"{text} = {code}"
        elif fold(text) in self.names:
            label = text
        else:
            first = re.split(r"\s[-–]\s|[/(,;:]", text, maxsplit=1)[0]
            if fold(first) in self.names:
                label = text
        if len(self._cache) < 100_000:
            self._cache[key] = label
        return label


@functools.cache
def status_words(overlays: tuple[Path, ...] = ()) -> StatusWords:
    return StatusWords(overlays)


@dataclass(slots=True)
class Context:
    """What the inventory records about one device, each value with where it was read."""

    values: dict[str, str] = field(default_factory=dict)
    # field -> the value and where it was read, as the report gives it: {"value", "file", "row", "field", ...}
    read: dict[str, dict[str, Any]] = field(default_factory=dict)
    retired: str | None = None  # the install status when it means not in use
    seen_by: tuple[str, ...] = ()  # sources that saw the device in use (scans, leases, walks)
    # the context of one record (its place, field -> column): its places are made when read
    record: tuple[Location, Mapping[str, str]] | None = None
    how_dated: str | None = None  # how the day/month order of the date that judges (dated()) was told, if it mattered

    @property
    def places(self) -> dict[str, dict[str, Any]]:
        if self.record is None:
            return self.read
        at, columns = self.record
        return {
            n: {"value": v, **Location(at.file, at.line, at.row, at.entry, at.offset, columns.get(n)).to_dict()}
            for n, v in self.values.items()
        }

    @property
    def in_use(self) -> bool:
        return self.retired is None or bool(self.seen_by)

    def dated(self) -> tuple[str, str, Location] | None:
        """(YYYY-MM-DD, field, where) of the date that judges ownership windows: purchase, else install date."""
        for name in DATES:
            value = self.values.get(name)
            if value and is_day(value):
                return value, name, Location(**{k: v for k, v in self.places[name].items() if k != "value"})
        return None

    def in_use_text(self) -> str:
        """'no (Retired)', or 'yes (recorded Retired, seen by nmap)' for a device a scan saw."""
        if self.seen_by:
            return f"yes (recorded {self.retired}, seen by {', '.join(self.seen_by)})"
        return f"no ({self.retired})"

    def notes(self, counted: bool) -> list[str]:
        if self.retired is None:
            return []
        if self.seen_by:
            return [
                f"Recorded as {self.retired} in the inventory, but seen by {', '.join(self.seen_by)}: counted as in "
                "use."
            ]
        how = "counted as asked (--count-retired)" if counted else "not counted as in use (--count-retired counts it)"
        return [f"Recorded as not in use (install status {self.retired}): {how}."]


def of_observations(observations: Sequence[Any], words: StatusWords) -> Context:
    """A device's context from its records (the first value of each field, in record order)."""
    ctx = Context()
    seen: list[str] = []
    givers: list[Any] = []  # the records that gave the values, in order
    notes: dict[str, str] | None = None  # date field -> how its day/month order was told
    for obs in observations:
        for name, value in obs.context.items():
            if name not in ctx.values:
                ctx.values[name] = value
                if not givers or givers[-1] is not obs:
                    givers.append(obs)
                if obs.dates is not None and name in DATES and (how := obs.dates.note(name, value)):
                    notes = {**(notes or {}), name: how}
        if not obs.source.startswith(NOT_SIGHTINGS) and obs.source not in seen:
            seen.append(obs.source)
    ctx.seen_by = tuple(seen)
    if notes:  # the note of the date that judges (as dated() picks it)
        judging = next((name for name in DATES if is_day(ctx.values.get(name, ""))), "")
        ctx.how_dated = notes.get(judging)
    if len(givers) == 1 and not givers[0].lines:  # one record: its place, and each value's column, when read
        ctx.record = (givers[0].location, givers[0].fields)
    else:
        for obs in givers:
            for name, value in obs.context.items():
                if ctx.values.get(name) == value and name not in ctx.read:
                    ctx.read[name] = {"value": value, **obs.where(name).to_dict()}
    status = ctx.values.get("install_status")
    if status:
        column = ctx.record[1].get("install_status") if ctx.record else ctx.read["install_status"].get("field")
        ctx.retired = words.not_in_use(status, column or "")
    return ctx


def basis(name: str, day: str, where: Location, how: str | None = None) -> str:
    """'purchase date 2017-03-01 (cmdb.csv row 5, column purchase_date)', with how a numeric date's day/month
    order was told: '...column purchase_date; read day-first, proven by row 9: 25/12/2017)'."""
    place = where.file + (f" row {where.row}" if where.row is not None else "")
    if where.entry:
        place += f" sheet {where.entry}"
    if where.line is not None:
        place += f" line {where.line}"
    if where.field:
        place += f", column {where.field}"
    if how:
        place += f"; {how}"
    return f"{WORDS[name]} {day} ({place})"
