"""Rows of the speed benchmark, their targets, the plain-text table and the JSON result file."""

from __future__ import annotations

import json
import os
import platform
import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = [
    "Check",
    "Row",
    "anchor_summary",
    "at_least",
    "at_most",
    "equals",
    "machine",
    "median",
    "spread",
    "table",
    "versions",
    "write_json",
]


@dataclass
class Check:
    """One target of a row: ``value`` compared with ``limit`` (``<=`` or ``>=``, or ``==`` for a label)."""

    what: str
    value: Any
    op: str
    limit: Any
    unit: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        if self.op == "<=":
            return self.value <= self.limit
        if self.op == ">=":
            return self.value >= self.limit
        return self.value == self.limit

    def describe(self) -> str:
        op = {"<=": "≤", ">=": "≥", "==": "="}[self.op]
        number = isinstance(self.limit, (int, float)) and not isinstance(self.limit, bool)
        limit = f"{self.limit:,g}" if number else str(self.limit).lower()
        return f"{self.what} {op} {limit}{self.unit}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


def at_most(what: str, value: Any, limit: Any, unit: str = "") -> Check:
    return Check(what, value, "<=", limit, unit)


def at_least(what: str, value: Any, limit: Any, unit: str = "") -> Check:
    return Check(what, value, ">=", limit, unit)


def equals(what: str, value: Any, expected: Any) -> Check:
    return Check(what, value, "==", expected)


@dataclass
class Row:
    """One line of the table.

    ``value`` is digitzoo's median measurement in ``unit``; ``anchor_value`` the anchor's in the same
    unit, measured in the same run. ``ratio`` is always digitzoo's *time* over the anchor's (below 1:
    digitzoo is faster), the median of the ratios of paired repetitions. ``samples`` are the
    repetitions behind ``value``; ``spread`` their (min, max).
    """

    row: str
    what: str
    value: float | None = None
    unit: str = "s"
    anchor: str = ""
    anchor_value: float | None = None
    ratio: float | None = None
    test_accuracy: float | None = None
    checks: list[Check] = field(default_factory=list)
    samples: list[float] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    error: str = ""  # the row's code failed: nothing was measured

    @property
    def target(self) -> str:
        return "; ".join(c.describe() for c in self.checks)

    @property
    def met(self) -> bool | None:
        """All targets met; ``None`` when the row has no target or was not measured."""
        results = [c.met for c in self.checks]
        if not results or any(r is None for r in results):
            return None
        return all(results)

    @property
    def spread(self) -> list[float] | None:
        return [min(self.samples), max(self.samples)] if self.samples else None

    def to_dict(self) -> dict[str, Any]:
        out = {f: getattr(self, f) for f in ("row", "what", "value", "unit", "anchor", "anchor_value", "ratio")}
        out.update(
            test_accuracy=self.test_accuracy,
            target=self.target,
            met=self.met,
            checks=[c.to_dict() for c in self.checks],
            samples=self.samples,
            spread=self.spread,
            details=self.details,
            note=self.note,
            error=self.error,
        )
        return out


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def spread(values: list[float]) -> str:
    """``±12%``: half the range of ``values`` relative to their median."""
    if len(values) < 2 or not median(values):
        return ""
    return f"±{(max(values) - min(values)) / 2 / median(values):.0%}"


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _cells(row: Row) -> list[str]:
    value = "—" if row.value is None else f"{_number(row.value)} {row.unit} {spread(row.samples)}".strip()
    anchor = "" if row.anchor_value is None else f"{_number(row.anchor_value)} {row.unit}"
    ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
    accuracy = "" if row.test_accuracy is None else f"{row.test_accuracy:.2%}"
    met = {True: "yes", False: "NO", None: "—" if row.checks else ""}[row.met]
    return [row.row, value, anchor, ratio, accuracy, row.target, met]


def _remarks(row: Row) -> list[str]:
    return [text for text in (row.note, row.error and f"FAILED: {row.error}") if text]


def table(rows: list[Row]) -> str:
    """The rows as a plain-text table, then each row's note."""
    header = ["row", "digitzoo", "anchor", "ratio", "test acc", "target", "met"]
    lines = [header] + [_cells(r) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    right = {1, 2, 3, 4}

    def fmt(cells: list[str]) -> str:
        padded = (c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
        return "  ".join(padded).rstrip()

    out = [fmt(header), fmt(["-" * w for w in widths])] + [fmt(line) for line in lines[1:]]
    notes = [f"  {r.row}: {r.what}" + "".join(f" — {n}" for n in _remarks(r)) for r in rows]
    return "\n".join(out + ["", "rows (ratio = digitzoo's time / the anchor's, same run):"] + notes)


def anchor_summary(anchors: dict[str, dict[str, Any]]) -> str:
    """One line per anchor: its fit seconds, seconds per epoch and test accuracy (medians)."""
    lines = ["", "anchors (fit includes tracing; test accuracy on every test image given):"]
    for anchor in anchors.values():
        runs = len(anchor["runs"])
        lines.append(
            f"  {anchor['name']}, {anchor['epochs']} epoch(s): fit {anchor['fit_seconds']:.2f} s, "
            f"{anchor['seconds_per_epoch']:.2f} s/epoch, test acc {anchor['test_accuracy']:.2%}"
            + (f" (median of {runs} runs)" if runs > 1 else "")
        )
    return "\n".join(lines) if anchors else ""


def machine() -> dict[str, Any]:
    """Cores, CPU model and RAM of this machine (from /proc where there is one)."""
    info: dict[str, Any] = {"cores": os.cpu_count(), "cpu": platform.processor() or platform.machine()}
    info["platform"] = platform.platform()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["ram_gb"] = round(int(line.split()[1]) / 1024**2, 1)
                break
    except OSError:
        pass
    info["load_average"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    return info


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for package in ("digitzoo", "keras", "tensorflow", "numpy"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out


def write_json(folder: Path, report: dict[str, Any], started: datetime) -> Path:
    """``folder/speed-YYYYMMDD-HHMMSS.json`` (a new name if that one exists); returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"speed-{started:%Y%m%d-%H%M%S}"
    path, n = folder / f"{stem}.json", 1
    while path.exists():
        path, n = folder / f"{stem}-{n}.json", n + 1
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp, path)
    return path
