"""`bansweep data update` against a local HTTP server serving real-format files: the CSL sample and the IEEE
registry CSVs (Debian's ieee-data copies, cut short). Conditional requests, size caps, atomic replacement with
the previous copy kept, and a clear error offline."""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bansweep import update
from bansweep.parties.lists import csl
from parties_fixtures import SAMPLE

IEEE = Path("/usr/share/ieee-data")
IEEE_FILES = ["oui.csv", "mam.csv", "oui36.csv", "iab.csv", "cid.csv"]
HEADER = "Registry,Assignment,Organization Name,Organization Address\n"
OUI_ROWS = (  # real MA-L rows, used where Debian's ieee-data is not installed
    "MA-L,002272,American Micro-Fuel Device Corp.,2181 Buchanan Loop Ferndale WA US 98248\n"
    "MA-L,00D0EF,IGT,9295 PROTOTYPE DRIVE RENO NV US 89511\n"
    "MA-L,086195,Rockwell Automation,1 Allen-Bradley Dr. Mayfield Heights OH US 44124-6118\n"
)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BANSWEEP_HOME", str(tmp_path / "home"))
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "home"


class Handler(http.server.BaseHTTPRequestHandler):
    root: Path
    requests: list[tuple[str, int]]

    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        path = self.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            self.requests.append((self.path, 404))
            return
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.end_headers()
            self.requests.append((self.path, 304))
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", "Thu, 03 Dec 2026 05:00:00 GMT")
        self.end_headers()
        self.wfile.write(body)
        self.requests.append((self.path, 200))

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, list[tuple[str, int]]]]:
    root = tmp_path / "www"
    root.mkdir()
    (root / "consolidated.csv").write_bytes(SAMPLE.read_bytes())
    for name in IEEE_FILES:
        real = IEEE / name
        if real.exists():  # real rows, cut short to keep the test quick
            lines = real.read_text(encoding="utf-8").splitlines(keepends=True)[:200]
        else:
            lines = [HEADER, OUI_ROWS if name == "oui.csv" else ""]
        (root / name).write_text("".join(lines), encoding="utf-8")
    requests: list[tuple[str, int]] = []
    handler = type("H", (Handler,), {"root": root, "requests": requests})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", root, requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(update.update, list(args))
    return result.exit_code, result.output


def test_update_downloads_imports_and_then_asks_conditionally(
    server: tuple[str, Path, list[tuple[str, int]]], home: Path
) -> None:
    base, root, requests = server
    code, out = invoke("--csl-url", f"{base}/consolidated.csv", "--ieee-url", base)
    assert code == 0, out
    assert "CSL downloaded: 13 records" in out and "published 2026-12-03T05:00:00+00:00" in out
    assert "IEEE registry:" in out
    stored = csl.load_stored()
    assert stored is not None and len(stored.records) == 13
    state = json.loads((home / "downloads" / "state.json").read_text())
    entry = state[f"{base}/consolidated.csv"]
    assert entry["sha256"] == hashlib.sha256(SAMPLE.read_bytes()).hexdigest() and entry["etag"]
    # again: nothing has changed, every request is answered 304 and nothing is downloaded
    requests.clear()
    code, out = invoke("--csl-url", f"{base}/consolidated.csv", "--ieee-url", base)
    assert code == 0, out
    assert {status for _, status in requests} == {304} and "unchanged" in out
    # the list changes: downloaded again, the previous copy kept beside it
    rows = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    (root / "consolidated.csv").write_text("".join(rows[:-1]), encoding="utf-8")
    code, out = invoke("--only", "csl", "--csl-url", f"{base}/consolidated.csv")
    assert code == 0 and "CSL downloaded: 12 records" in out
    assert (home / "downloads" / "consolidated.csv.previous").read_bytes() == SAMPLE.read_bytes()
    assert (home / "parties" / "csl.previous.json.gz").exists()


def test_size_cap_bad_content_and_offline_fail_clearly_and_keep_the_old_copy(
    server: tuple[str, Path, list[tuple[str, int]]], home: Path, tmp_path: Path
) -> None:
    base, root, _ = server
    assert invoke("--only", "csl", "--csl-url", f"{base}/consolidated.csv")[0] == 0
    before = (home / "parties" / "csl.json.gz").read_bytes()
    # a body larger than the cap (an overlay lowers it): refused, nothing replaced
    overlay = tmp_path / "kb"
    overlay.mkdir()
    (overlay / "downloads.yaml").write_text(
        'dataset: downloads\nversion: "test"\nentries:\n  - id: csl\n    kind: csl\n    url: "x"\n'
        '    file: consolidated.csv\n    max_bytes: 100\n    source: "test"\n    date: "2026-12-04"\n'
    )
    (root / "consolidated.csv").write_bytes(SAMPLE.read_bytes() + b"\n")
    code, out = invoke("--only", "csl", "--csl-url", f"{base}/consolidated.csv", "--knowledge", str(overlay))
    assert code == 4 and "more than the cap of 100" in out
    assert (home / "parties" / "csl.json.gz").read_bytes() == before
    assert not list((home / "downloads").glob("*.part"))
    # an HTML error page or any other file: downloaded but refused as a CSL
    (root / "consolidated.csv").write_text("<html>maintenance</html>\n")
    code, out = invoke("--only", "csl", "--csl-url", f"{base}/consolidated.csv")
    assert code == 4 and "not a CSL bulk file" in out
    # a missing file and no network at all
    code, out = invoke("--only", "csl", "--csl-url", f"{base}/nothing.csv")
    assert code == 4 and "HTTP 404" in out
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    code, out = invoke("--only", "csl", "--csl-url", f"http://127.0.0.1:{port}/consolidated.csv")
    assert code == 4 and "cannot be reached" in out and "import-csl" in out
    code, out = invoke("--only", "csl", "--csl-url", "file:///etc/passwd")
    assert code == 4 and "only http(s)" in out
    assert (home / "parties" / "csl.json.gz").read_bytes() == before
