"""Saved scrapes: the scraper's parquet/CSV output, or a directory of exposition text files."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..errors import PerfkitError
from .parse import VALUE_COLUMN, normalize, parse_exposition

TEXT_SUFFIXES = (".prom", ".txt", ".metrics")


class ScrapeError(PerfkitError):
    """A saved scrape could not be read."""


def have_parquet() -> bool:
    try:
        import pyarrow  # noqa: F401
        return True
    except ImportError:
        return False


def save_frame(df: pd.DataFrame, path, format: str = "auto") -> Path:
    path = Path(path)
    if format == "auto":
        format = {".csv": "csv", ".parquet": "parquet"}.get(path.suffix) or ("parquet" if have_parquet() else "csv")
    if format == "parquet":
        if not have_parquet():
            raise ScrapeError(path, "parquet needs pyarrow (pip install pyarrow); use format='csv'")
        df.to_parquet(path, index=False)
    elif format == "csv":
        df.to_csv(path, index=False, na_rep="NaN")
    else:
        raise ValueError(f"unknown format {format!r}")
    return path


def _safe(instance: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", instance) or "target"


def save_texts(texts, path) -> Path:
    """Write ``(timestamp, instance, text)`` as ``path/<instance>/<unix-ms>.prom``."""
    path = Path(path)
    for ts, instance, text in texts:
        d = path / _safe(instance)
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{int(round(ts * 1000))}.prom").write_text(text)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _file_timestamp(p: Path) -> float:
    """Unix seconds from a name like ``1732790000123.prom`` (ms) or ``1732790000.5.prom`` (s); else mtime."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)", p.stem.rsplit("-", 1)[-1])
    if m:
        v = float(m.group(1))
        return v / 1000 if v > 1e11 else v
    return p.stat().st_mtime


def read_texts(path, *, job: str = "") -> pd.DataFrame:
    """A directory of exposition files -> sample frame.

    Files ending in .prom/.txt/.metrics, directly in ``path`` (instance =
    "") or one level down (instance = the subdirectory name, with the
    first ``_`` before a port turned back into ``:``). The timestamp comes
    from the file name (Unix ms or s), else the file's mtime.
    """
    path = Path(path)
    rows: list[dict] = []
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES)
    if not files:
        raise ScrapeError(path, "no exposition files (*.prom, *.txt, *.metrics)")
    for f in files:
        rel = f.relative_to(path)
        instance = ""
        if len(rel.parts) > 1:
            instance = re.sub(r"_(\d+)$", r":\1", rel.parts[0])
        try:
            rows += parse_exposition(f.read_text(), timestamp=_file_timestamp(f), instance=instance, job=job)
        except ValueError as e:
            raise ScrapeError(f, f"not Prometheus text format: {e}") from e
    return normalize(pd.DataFrame(rows))


def read_scrape(path, *, job: str = "") -> pd.DataFrame:
    """Read a saved scrape: a .parquet or .csv file written by the scraper, or a directory of exposition text."""
    path = Path(path)
    if not path.exists():
        raise ScrapeError(path, "no such file or directory")
    if path.is_dir():
        return read_texts(path, job=job)
    if path.suffix == ".parquet":
        if not have_parquet():
            raise ScrapeError(path, "reading parquet needs pyarrow (pip install pyarrow)")
        df = pd.read_parquet(path)
    elif path.suffix == ".csv":
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    elif path.suffix in TEXT_SUFFIXES:
        rows = parse_exposition(path.read_text(), timestamp=_file_timestamp(path), instance="", job=job)
        df = pd.DataFrame(rows)
    else:
        raise ScrapeError(path, "expected a directory, .parquet, .csv or exposition text file")
    missing = [c for c in ("timestamp", "metric", VALUE_COLUMN) if c not in df.columns]
    if missing:
        raise ScrapeError(path, f"not a perfkit scrape: missing columns {missing}")
    df["timestamp"] = pd.to_numeric(df["timestamp"], errors="raise")
    return normalize(df)
