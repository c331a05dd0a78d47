"""`bansweep data update`: fetch the current CSL bulk file and IEEE registry CSVs from their official addresses.

Each download is a conditional request (If-None-Match / If-Modified-Since from the last one), capped in size,
hashed (sha256) while it streams to a temporary file, and moved into place atomically; the copy it replaces is
kept beside it (`<file>.previous`) for the audit trail. Proxies come from the environment (HTTP(S)_PROXY,
NO_PROXY). Offline, it fails with a clear message; `bansweep data import-csl` / `import-ieee` stay the offline
path. Addresses and size caps are knowledge data (knowledge/data/downloads.yaml).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import click

from bansweep.inputs import InputProblem

EXIT_FAILED = 4
TIMEOUT = 60  # seconds without data before a download is given up
CHUNK = 1 << 16


class DownloadError(Exception):
    """A download that failed; the message says why and what to do instead."""


@dataclass(slots=True)
class Fetched:
    path: Path
    changed: bool  # False: the server said the copy we have is current (304)
    sha256: str
    size: int
    published: str  # ISO time: the server's Last-Modified, else the time of the request
    checked: str


def downloads_dir() -> Path:
    from bansweep.store import data_path

    return data_path("downloads", "state.json").parent


def _state_path() -> Path:
    return downloads_dir() / "state.json"


def _load_state() -> dict[str, Any]:
    try:
        data = json.loads(_state_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_state(state: dict[str, Any]) -> None:
    tmp = _state_path().with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(_state_path())


def fetch(url: str, name: str, max_bytes: int, state: dict[str, Any]) -> Fetched:
    """Download `url` into the downloads directory as `name` (conditionally, capped, hashed, atomically)."""
    if not url.startswith(("https://", "http://")):
        raise DownloadError(f"{url}: only http(s) addresses are fetched")
    target = downloads_dir() / name
    known = state.get(url, {}) if target.exists() else {}
    request = urllib.request.Request(url, headers={"User-Agent": "bansweep data update"})
    if known.get("etag"):
        request.add_header("If-None-Match", known["etag"])
    if known.get("last_modified"):
        request.add_header("If-Modified-Since", known["last_modified"])
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    # urllib takes the proxies from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler())
    try:
        response = opener.open(request, timeout=TIMEOUT)
    except urllib.error.HTTPError as exc:
        if exc.code == 304 and known:
            known["checked"] = now
            return Fetched(target, False, known["sha256"], known["size"], known.get("published", now), now)
        raise DownloadError(f"{url}: the server answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"{url}: cannot be reached ({reason}). Offline? Download the file elsewhere and import it with "
            "`bansweep data import-csl FILE` or `bansweep data import-ieee FILES`"
        ) from None
    with response:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise DownloadError(f"{url}: {declared} bytes announced, more than the cap of {max_bytes}; not fetched")
        part = target.with_name(target.name + ".part")
        digest = hashlib.sha256()
        size = 0
        try:
            with part.open("wb") as out:
                while True:
                    chunk = response.read(CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > max_bytes:
                        raise DownloadError(f"{url}: more than the cap of {max_bytes} bytes; download abandoned")
                    digest.update(chunk)
                    out.write(chunk)
            if declared and declared.isdigit() and size != int(declared):
                raise DownloadError(f"{url}: {size} of {declared} bytes received; download abandoned")
        except (OSError, DownloadError) as exc:
            part.unlink(missing_ok=True)
            if isinstance(exc, DownloadError):
                raise
            raise DownloadError(f"{url}: download interrupted ({exc})") from None
        etag = response.headers.get("ETag", "")
        modified = response.headers.get("Last-Modified", "")
    published = now
    if modified:
        with contextlib.suppress(TypeError, ValueError):
            published = parsedate_to_datetime(modified).astimezone(timezone.utc).isoformat(timespec="seconds")
    from bansweep.parties.lists.stored import keep_previous

    keep_previous(target, target.with_name(target.name + ".previous"))
    os.replace(part, target)  # atomic: the old file or the new one, never a part
    state[url] = {
        "file": str(target),
        "etag": etag,
        "last_modified": modified,
        "sha256": digest.hexdigest(),
        "size": size,
        "published": published,
        "checked": now,
    }
    return Fetched(target, True, digest.hexdigest(), size, published, now)


def _entries(kind: str, knowledge: tuple[Path, ...]) -> list[dict[str, Any]]:
    from bansweep.knowledge import load

    data = load("downloads", ("kind", "url", "file", "max_bytes"), overlays=knowledge)
    return [e for e in data.entries if e["kind"] == kind]


def update_csl(url: str, max_bytes: int, state: dict[str, Any]) -> str:
    """Fetch the CSL and import it (also when unchanged: it was checked against the publisher just now)."""
    from bansweep.parties.lists import csl

    got = fetch(url, "consolidated.csv" if url.endswith(".csv") else Path(url).name or "consolidated", max_bytes, state)
    try:
        lists, errors = csl.read(got.path)
    except InputProblem as exc:
        raise DownloadError(f"{url}: downloaded, but not a CSL bulk file: {exc.message}") from None
    if not lists.records:
        raise DownloadError(f"{url}: downloaded, but no CSL record could be read")
    # current as of this check: the publisher had nothing newer
    csl.save(lists, got.path, len(errors), when=got.checked)
    what = "downloaded" if got.changed else "unchanged since the last download (HTTP 304)"
    return (
        f"CSL {what}: {len(lists.records)} records, {got.size} bytes, sha256 {got.sha256[:16]}…, "
        f"published {got.published}; {len(errors)} record(s) not read"
    )


def update_ieee(entries: list[tuple[str, str, int]], state: dict[str, Any]) -> str:
    from bansweep.registry import ieee

    fetched = [fetch(url, name, cap, state) for url, name, cap in entries]
    if not any(f.changed for f in fetched) and ieee.imported_meta():
        return "IEEE registry unchanged since the last download (HTTP 304)"
    newest = max(f.published for f in fetched)[:10]
    result = ieee.import_files([f.path for f in fetched], newest)
    if not result.files:
        raise DownloadError("IEEE registry: downloaded, but no valid row in the files")
    return f"IEEE registry: {sum(result.rows.values())} prefixes from {len(result.files)} files, dated {result.date}"


@click.command("update")
@click.option("--only", type=click.Choice(["csl", "ieee"]), help="Update one data set only.")
@click.option("--csl-url", help="Fetch the CSL from this address instead (a mirror).")
@click.option("--ieee-url", "ieee_base", help="Fetch the IEEE CSVs from this base address instead (a mirror).")
@click.option("--knowledge", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
def update(only: str | None, csl_url: str | None, ieee_base: str | None, knowledge: tuple[Path, ...]) -> None:
    """Download the current CSL bulk file and IEEE registry CSVs and import them.

    Conditional requests: nothing is downloaded again while the publisher's copy is unchanged. The files are
    kept in the data home with their sha256; the copy each download replaces is kept as *.previous."""
    state = _load_state()
    failed = False
    jobs: list[tuple[str, Any]] = []
    if only in (None, "csl"):
        (entry,) = _entries("csl", knowledge)
        jobs.append(("csl", lambda: update_csl(csl_url or entry["url"], int(entry["max_bytes"]), state)))
    if only in (None, "ieee"):
        files = [
            (f"{ieee_base.rstrip('/')}/{e['file']}" if ieee_base else e["url"], str(e["file"]), int(e["max_bytes"]))
            for e in _entries("ieee", knowledge)
        ]
        jobs.append(("ieee", lambda: update_ieee(files, state)))
    for _, job in jobs:
        try:
            click.echo(job())
        except DownloadError as exc:
            click.echo(f"bansweep: {exc}", err=True)
            failed = True
        _save_state(state)
    if failed:
        sys.exit(EXIT_FAILED)


COMMANDS = [update]
