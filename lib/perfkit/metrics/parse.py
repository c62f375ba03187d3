"""Prometheus text exposition -> tidy DataFrame, with prometheus_client's parser."""
from __future__ import annotations

import re

import pandas as pd
from prometheus_client.parser import text_string_to_metric_families

#: Columns that are not labels, in the order the tidy frame uses.
BASE_COLUMNS = ["timestamp", "instance", "job", "metric", "family", "type"]
VALUE_COLUMN = "value"
NON_LABEL = set(BASE_COLUMNS) | {VALUE_COLUMN}

_TYPES = {"unknown": "untyped"}


def parse_exposition(text: str, *, timestamp: float, instance: str = "", job: str = "") -> list[dict]:
    """Parse one scrape into a list of row dicts (one per sample).

    ``timestamp`` is the scrape time in Unix seconds; a sample carrying its
    own timestamp keeps it. Labels become keys of the row; the metric
    family's type is in ``type`` (``untyped`` for untyped metrics).
    """
    rows = []
    for fam in text_string_to_metric_families(text):
        typ = _TYPES.get(fam.type, fam.type)
        for s in fam.samples:
            row = {"timestamp": float(s.timestamp) if s.timestamp is not None else timestamp,
                   "instance": instance, "job": job, "metric": s.name, "family": fam.name, "type": typ}
            for k, v in s.labels.items():
                if k in NON_LABEL:
                    k = "exported_" + k           # as Prometheus does with honor_labels: false
                row[k] = v
            row["value"] = float(s.value)
            rows.append(row)
    return rows


def tidy(rows: list[dict]) -> pd.DataFrame:
    """Rows -> DataFrame: base columns, sorted label columns ("" when absent), value."""
    df = pd.DataFrame(rows)
    return normalize(df)


def normalize(df: pd.DataFrame) -> pd.DataFrame:
    """Put a sample frame in canonical form (column order, dtypes, "" for missing labels)."""
    if df.empty and not len(df.columns):
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("timestamp", "value") else "object")
                             for c in BASE_COLUMNS + [VALUE_COLUMN]})
    for c in BASE_COLUMNS:
        if c not in df.columns:
            df[c] = ""
    labels = sorted(c for c in df.columns if c not in NON_LABEL)
    df = df[BASE_COLUMNS + labels + [VALUE_COLUMN]].copy()
    for c in ["instance", "job", "metric", "family", "type", *labels]:
        df[c] = df[c].fillna("").astype(str)
    df["timestamp"] = df["timestamp"].astype("float64")
    df["value"] = pd.to_numeric(df["value"], errors="coerce").astype("float64")
    return df.sort_values(["timestamp", "instance", "metric"], kind="stable").reset_index(drop=True)


def label_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in NON_LABEL]


_DUR = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(d) -> float:
    """A duration as seconds: a number, or a PromQL duration such as ``"1m30s"``."""
    if isinstance(d, (int, float)):
        return float(d)
    if hasattr(d, "total_seconds"):
        return float(d.total_seconds())
    s = str(d).strip()
    try:
        return float(s)
    except ValueError:
        pass
    pos, total = 0, 0.0
    for m in _DUR.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise ValueError(f"not a duration: {d!r}")
    return total


def format_duration(sec: float) -> str:
    """Seconds -> PromQL duration (``90`` -> ``"1m30s"``; sub-second -> ms)."""
    ms = int(round(sec * 1000))
    if ms % 1000:
        return f"{ms}ms"
    s = ms // 1000
    out = ""
    for unit, n in (("h", 3600), ("m", 60), ("s", 1)):
        if s >= n:
            out += f"{s // n}{unit}"
            s %= n
    return out or "0s"
