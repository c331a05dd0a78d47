"""JSON report: a stable, versioned schema (see SCHEMA)."""

from __future__ import annotations

import json

from bansweep import __version__
from bansweep.findings import Report

SCHEMA = "https://bansweep.dev/schema/report/1"


def as_dict(report: Report) -> dict[str, object]:
    return {
        "schema": SCHEMA,
        "tool": {"name": "bansweep", "version": __version__},
        "job": report.job,
        "started": report.started,
        "finished": report.finished,
        "inputs": report.inputs,
        "data_versions": report.data_versions,
        "subjects": report.subjects,
        "summary": report.summary,
        "findings": [f.to_dict() for f in report.findings],
        "errors": [e.to_dict() for e in report.errors],
    }


def render(report: Report) -> str:
    return json.dumps(as_dict(report), indent=2, ensure_ascii=False, default=str) + "\n"
