"""The HTML report as a browser draws it: headless Chromium at 1400 and 900 px.

Each width gets a screenshot (kept beside the test's temp files for a person to look at) and a measuring pass: a
copy of the report with a script added (and the CSP that would block it removed) records every chart label that
runs outside its chart, every element whose text is cut by its box, whether the page is wider than the window, and
whether unticking a status box really hides that status's findings. Nothing of the report itself is changed.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
MEASURE = """
<script>
window.addEventListener("load", () => {
  const out = {clipped: [], outside: [], pageWidth: document.documentElement.scrollWidth,
               windowWidth: window.innerWidth, filter: {}};
  const name = (el) => el.tagName.toLowerCase() + ": " + (el.textContent || "").trim().slice(0, 60);
  for (const text of document.querySelectorAll("svg text")) {
    const box = text.getBoundingClientRect(), svg = text.ownerSVGElement.getBoundingClientRect();
    if (box.width && (box.left < svg.left - 0.5 || box.right > svg.right + 0.5)) out.outside.push(name(text));
  }
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  for (const el of document.body.querySelectorAll("*")) {
    const style = getComputedStyle(el);
    const cuts = ["hidden", "clip"].includes(style.overflowX) || style.textOverflow === "ellipsis";
    if (cuts && el.clientWidth && el.scrollWidth > el.clientWidth + 1) out.clipped.push(name(el));
  }
  out.openPageWidth = document.documentElement.scrollWidth;
  document.querySelectorAll("details").forEach((d) => { d.open = false; });
  for (const box of document.querySelectorAll("input[id^=show-]")) {
    const cls = box.id.replace("show-job-", "job-").replace("show-", "st-");
    const items = [...document.querySelectorAll("details." + cls)];
    if (!items.length) continue;
    const before = items.filter((d) => getComputedStyle(d).display !== "none").length;
    box.checked = false;
    const after = items.filter((d) => getComputedStyle(d).display !== "none").length;
    box.checked = true;
    out.filter[box.id] = [items.length, before, after];
  }
  const pre = document.createElement("pre");
  pre.id = "measured";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/test-setup installs Debian's chromium)")
    out = tmp_path_factory.mktemp("html") / "sweep.html"
    proc = subprocess.run(
        [sys.executable, "-m", "bansweep", "sweep", "--no-store", "--fail-on", "never", "--format", "html"]
        + ["-o", str(out), str(EXAMPLES)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.exists() and out.stat().st_size > 10_000, proc.stderr
    return out


def measured(report: Path, width: int, tmp_path: Path, page: str | None = None) -> dict[str, Any]:
    page = page if page is not None else report.read_text(encoding="utf-8")
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    probe = tmp_path / f"measure-{width}.html"
    probe.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    proc = chromium(
        f"--window-size={width},900",
        "--virtual-time-budget=5000",
        "--dump-dom",
        probe.as_uri(),
        profile=tmp_path / f"profile-m{width}",
    )
    found = re.search(r'<pre id="measured">(.*?)</pre>', proc.stdout, re.S)
    assert found, proc.stderr[-2000:]
    return json.loads(
        found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )


@pytest.mark.parametrize("width", [1400, 900])
def test_screenshot_is_drawn_at_the_width(report: Path, width: int, tmp_path: Path) -> None:
    shot = tmp_path / f"report-{width}.png"
    proc = chromium(
        f"--screenshot={shot}", f"--window-size={width},2400", report.as_uri(), profile=tmp_path / "profile"
    )
    assert shot.exists(), proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    png_width, png_height = struct.unpack(">II", data[16:24])
    assert (png_width, png_height) == (width, 2400)
    assert len(data) > 20_000  # a drawn page, not a blank one


@pytest.mark.parametrize("width", [1400, 900])
def test_no_text_is_clipped_and_the_page_fits(report: Path, width: int, tmp_path: Path) -> None:
    got = measured(report, width, tmp_path)
    assert got["windowWidth"] == width
    assert got["outside"] == [], "chart labels outside their chart"
    assert got["clipped"] == [], "text cut by its box"
    assert got["pageWidth"] <= width, "page wider than the window (collapsed)"
    assert got["openPageWidth"] <= width, "page wider than the window (every finding opened)"


def test_status_and_job_boxes_hide_their_findings(report: Path, tmp_path: Path) -> None:
    got = measured(report, 1400, tmp_path)
    assert any(k.startswith("show-job-") for k in got["filter"]) and any(
        not k.startswith("show-job-") for k in got["filter"]
    )
    for box, (items, before, after) in got["filter"].items():
        assert before == items and after == 0, f"{box}: {items} findings, {before} shown, {after} after unticking"


def test_the_measuring_catches_a_label_outside_its_chart(report: Path, tmp_path: Path) -> None:
    page = report.read_text(encoding="utf-8")
    moved, n = re.subn(r'<text x="[^"]*"([^>]*text-anchor="end")', r'<text x="-300"\1', page, count=1)
    assert n == 1
    got = measured(report, 900, tmp_path, moved)
    assert len(got["outside"]) == 1
