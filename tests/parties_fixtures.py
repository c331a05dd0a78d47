"""What the parties tests share: where the real CSL sample (13 rows of the trade.gov export) lives."""

from __future__ import annotations

from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "csl-sample-13.csv"
if not SAMPLE.exists():
    SAMPLE = Path("/work/shared/data/csl-sample-13.csv")
