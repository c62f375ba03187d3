"""Poll /metrics endpoints in a background thread and collect a tidy sample frame."""
from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pandas as pd

from .parse import normalize, parse_exposition, seconds


def _metrics_url(target: str) -> str:
    if "://" not in target:
        target = "http://" + target
    parts = urlsplit(target)
    if parts.path in ("", "/"):
        target = target.rstrip("/") + "/metrics"
    return target


class Scraper:
    """Scrape one or more targets every ``interval`` seconds.

    Use as a context manager around an experiment, or call :meth:`run` for a
    fixed duration; ``duration`` also bounds a context-managed scraper. The
    first scrape happens immediately, then one per interval (a slow scrape
    does not shift the schedule). Like Prometheus, every scrape adds the
    synthetic series ``up`` (1 or 0) and ``scrape_duration_seconds``; a failed
    scrape adds no other samples, and the error is kept in :attr:`errors`.

    ``targets`` are base URLs (``http://127.0.0.1:9091``; ``/metrics`` is
    appended when no path is given) or full metrics URLs. The ``instance``
    column is the target's host:port, ``job`` is ``job`` ("" when None).
    """

    def __init__(self, targets, interval: float | str = 1.0, *, duration: float | str | None = None,
                 job: str | None = None, timeout: float | None = None, keep_text: bool = False):
        if isinstance(targets, str):
            targets = [targets]
        self.urls = [_metrics_url(t) for t in targets]
        self.interval = seconds(interval)
        if self.interval <= 0:
            raise ValueError("interval must be positive")
        self.duration = seconds(duration) if duration is not None else None
        self.job = job or ""
        self.timeout = timeout if timeout is not None else max(0.5, min(10.0, self.interval))
        self.keep_text = keep_text
        self.texts: list[tuple[float, str, str]] = []     # (timestamp, instance, exposition text)
        self.errors: list[tuple[float, str, str]] = []    # (timestamp, instance, message)
        self.scrapes = 0
        self._rows: list[dict] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started_at = self.stopped_at = None

    # -- one scrape ----------------------------------------------------------
    def scrape_once(self) -> None:
        for url in self.urls:
            instance = urlsplit(url).netloc
            ts = time.time()
            t0 = time.monotonic()
            rows: list[dict] = []
            try:
                req = urllib.request.Request(url, headers={"Accept": "text/plain;version=0.0.4"})
                with urllib.request.urlopen(req, timeout=self.timeout) as r:
                    text = r.read().decode("utf-8", "replace")
                rows = parse_exposition(text, timestamp=ts, instance=instance, job=self.job)
                up = 1.0
                if self.keep_text:
                    with self._lock:
                        self.texts.append((ts, instance, text))
            except (OSError, ValueError, urllib.error.URLError) as e:   # refused, timeout, bad text
                up = 0.0
                rows = []
                with self._lock:
                    self.errors.append((ts, instance, f"{type(e).__name__}: {e}"))
            dur = time.monotonic() - t0
            for name, v in (("up", up), ("scrape_duration_seconds", dur)):
                rows.append({"timestamp": ts, "instance": instance, "job": self.job, "metric": name,
                             "family": name, "type": "gauge", "value": v})
            with self._lock:
                self._rows.extend(rows)
                self.scrapes += 1

    # -- background loop -----------------------------------------------------
    def _loop(self) -> None:
        start = time.monotonic()
        n = 0
        while not self._stop.is_set():
            self.scrape_once()
            n += 1
            nxt = start + n * self.interval
            if self.duration is not None and nxt - start > self.duration + 1e-9:
                break
            self._stop.wait(max(0.0, nxt - time.monotonic()))

    def start(self) -> "Scraper":
        if self._thread is not None:
            raise RuntimeError("scraper already started")
        self._stop.clear()
        self.started_at = time.time()
        self._thread = threading.Thread(target=self._loop, name="perfkit-scraper", daemon=True)
        self._thread.start()
        return self

    def stop(self, final_scrape: bool = False) -> "Scraper":
        """Stop the thread (bounded wait); ``final_scrape`` takes one more sample first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout * len(self.urls) + 5)
            self._thread = None
        if final_scrape:
            self.scrape_once()
        self.stopped_at = time.time()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a duration-bounded scraper to finish. True when it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def run(self, duration: float | str | None = None) -> pd.DataFrame:
        """Scrape for ``duration`` (or the constructor's) seconds, blocking; return the frame."""
        if duration is not None:
            self.duration = seconds(duration)
        if self.duration is None:
            raise ValueError("run() needs a duration")
        self.start()
        self.wait(self.duration + self.timeout * len(self.urls) + 10)
        self.stop()
        return self.frame()

    def __enter__(self) -> "Scraper":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- results -------------------------------------------------------------
    def frame(self) -> pd.DataFrame:
        """All samples so far: timestamp, instance, job, metric, family, type, labels..., value."""
        with self._lock:
            rows = list(self._rows)
        return normalize(pd.DataFrame(rows))

    def save(self, path, format: str = "auto"):
        """Save the samples: ``parquet``, ``csv`` or ``text`` (a directory of exposition files).

        ``auto`` picks parquet when pyarrow is importable, otherwise csv.
        Read back with :func:`perfkit.metrics.read_scrape`.
        """
        from .saved import save_frame, save_texts
        if format == "text":
            if not self.keep_text:
                raise ValueError("Scraper(keep_text=True) is needed to save exposition text")
            with self._lock:
                texts = list(self.texts)
            return save_texts(texts, path)
        return save_frame(self.frame(), path, format=format)


__all__ = ["Scraper", "scrape"]


def scrape(targets, duration: float | str, interval: float | str = 1.0, **kw) -> pd.DataFrame:
    """Scrape ``targets`` for ``duration`` seconds and return the sample frame."""
    return Scraper(targets, interval, duration=duration, **kw).run()
