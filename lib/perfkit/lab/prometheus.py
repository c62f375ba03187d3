"""A real Prometheus on loopback, configured from the caller's prometheus.yml, and its HTTP API as DataFrames."""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from pathlib import Path

import pandas as pd
import yaml

from ..errors import PerfkitError, ToolMissingError
from ..metrics.parse import format_duration, seconds
from .ports import free_port

APT_HINT = "Debian: apt-get install prometheus (it ships promtool too)"


class PrometheusError(PerfkitError):
    """Prometheus could not be started, or a query failed."""


__all__ = ["PrometheusError", "PrometheusServer", "PromAPI", "generate_config", "find_prometheus_tool"]


def find_prometheus_tool(name: str) -> str:
    """``prometheus`` or ``promtool``: the path, or ToolMissingError."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        raise ToolMissingError(name, f"{name} is needed ({APT_HINT})")
    return path


def _hostport(target: str) -> str:
    if "://" in target:
        return urllib.parse.urlsplit(target).netloc
    return target


def generate_config(source, targets, *, job: str, interval="1s", evaluation_interval=None,
                    self_address: str | None = None) -> dict:
    """The Prometheus config file ``source`` for a run on loopback: the targets of scrape job ``job``
    replaced by ``targets``, intervals shortened, rule_files absolute, no alerting section, and a
    ``prometheus`` job (when it has one) scraping ``self_address``; other jobs are dropped."""
    source = Path(source)
    try:
        cfg = yaml.safe_load(source.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise PrometheusError(source, f"cannot read the Prometheus config: {e}") from e
    if not isinstance(cfg, dict) or job not in [j.get("job_name") for j in cfg.get("scrape_configs", [])]:
        raise PrometheusError(source, f"no scrape job named {job!r}")
    iv = format_duration(seconds(interval))
    ev = format_duration(seconds(evaluation_interval or interval))
    timeout = format_duration(max(0.001, seconds(interval) * 0.8))
    cfg.setdefault("global", {}).update(scrape_interval=iv, evaluation_interval=ev, scrape_timeout=timeout)
    cfg["rule_files"] = [str((source.parent / r).resolve()) for r in cfg.get("rule_files", [])]
    cfg.pop("alerting", None)
    targets = [targets] if isinstance(targets, str) else list(targets)
    jobs, target_job = [], job
    for job in cfg.get("scrape_configs", []):
        job = dict(job)
        job.pop("scrape_interval", None)
        job.pop("scrape_timeout", None)
        if job["job_name"] == target_job:
            job["static_configs"] = [{"targets": [_hostport(t) for t in targets]}]
        elif job["job_name"] == "prometheus":
            if not self_address:
                continue
            job["static_configs"] = [{"targets": [self_address]}]
        else:
            continue
        jobs.append(job)
    cfg["scrape_configs"] = jobs
    return cfg


class PrometheusServer:
    """A Prometheus process on 127.0.0.1 with a free port and a temp data dir.

    ``config`` is a prometheus.yml (its rule files are loaded); the targets of
    its scrape job ``job`` become ``targets`` (``http://127.0.0.1:PORT`` or
    ``host:port``); scrape and rule evaluation run every ``interval``. Use as
    a context manager; ``url`` is the base URL, :attr:`api` a :class:`PromAPI`.
    """

    def __init__(self, targets, *, config, job: str, interval="1s", evaluation_interval=None,
                 binary: str | None = None, start_timeout: float = 30.0, extra_args=()):
        self.targets = targets
        self.job = job
        self.interval = interval
        self.evaluation_interval = evaluation_interval
        self.source = Path(config)
        self.binary = binary
        self.start_timeout = start_timeout
        self.extra_args = list(extra_args)
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.port = 0
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.log: deque[str] = deque(maxlen=2000)
        self.config: dict = {}
        self.returncode: int | None = None

    def start(self) -> "PrometheusServer":
        binary = self.binary or find_prometheus_tool("prometheus")
        self._tmp = tempfile.TemporaryDirectory(prefix="perfkit-prometheus-")
        tmp = Path(self._tmp.name)
        last = ""
        for _attempt in range(3):                     # a free port can be taken meanwhile: retry
            self.port = free_port()
            addr = f"127.0.0.1:{self.port}"
            self.config = generate_config(self.source, self.targets, job=self.job, interval=self.interval,
                                          evaluation_interval=self.evaluation_interval, self_address=addr)
            cfg_path = tmp / "prometheus.yml"
            cfg_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
            data = tmp / "data"
            data.mkdir(exist_ok=True)
            logf = open(tmp / "prometheus.log", "w+")
            self.proc = subprocess.Popen(
                [binary, f"--config.file={cfg_path}", f"--storage.tsdb.path={data}",
                 f"--web.listen-address={addr}", "--log.level=warn", "--storage.tsdb.retention.time=1d",
                 *self.extra_args],
                stdout=logf, stderr=subprocess.STDOUT, cwd=tmp)
            self._logf = logf
            self.url = f"http://{addr}"
            if self._wait_ready():
                return self
            last = self._read_log()
            self._terminate()
        self.stop()
        raise PrometheusError(binary, f"did not become ready: {last[-2000:]}")

    def _read_log(self) -> str:
        try:
            self._logf.flush()
            return (Path(self._tmp.name) / "prometheus.log").read_text()
        except (OSError, AttributeError):
            return ""

    @property
    def logs(self) -> str:
        return self._read_log()

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def _terminate(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.returncode = self.proc.returncode
        try:
            self._logf.close()
        except AttributeError:
            pass

    def stop(self, timeout: float = 10.0) -> int | None:
        self._terminate(timeout)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        return self.returncode

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def api(self) -> "PromAPI":
        return PromAPI(self.url)

    def __enter__(self) -> "PrometheusServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<PrometheusServer {self.url or 'not started'}>"


def _frame_from_result(data: dict) -> pd.DataFrame:
    """Prometheus API result -> tidy frame: timestamp, metric (__name__), labels..., value."""
    rtype, result = data["resultType"], data["result"]
    rows = []
    if rtype in ("scalar", "string"):
        ts, v = result
        return pd.DataFrame([{"timestamp": float(ts), "value": float(v) if rtype == "scalar" else v}])
    for s in result:
        labels = dict(s.get("metric", {}))
        name = labels.pop("__name__", "")
        points = [s["value"]] if "value" in s else s.get("values", [])
        for ts, v in points:
            rows.append({"timestamp": float(ts), "metric": name, **labels, "value": float(v)})
    if not rows:
        return pd.DataFrame(columns=["timestamp", "metric", "value"])
    df = pd.DataFrame(rows)
    labels = sorted(c for c in df.columns if c not in ("timestamp", "metric", "value"))
    df[labels] = df[labels].fillna("")
    return df[["timestamp", "metric", *labels, "value"]].sort_values(["timestamp", "metric", *labels]) \
        .reset_index(drop=True)


class PromAPI:
    """Prometheus HTTP API client returning DataFrames."""

    def __init__(self, url: str, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _get(self, path: str, **params) -> dict:
        q = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        req = self.url + path + ("?" + q if q else "")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            try:
                body = json.load(e)
            except ValueError:
                raise PrometheusError(req, f"HTTP {e.code}") from e
        except OSError as e:
            raise PrometheusError(req, str(e)) from e
        if body.get("status") != "success":
            raise PrometheusError(params.get("query", path), f"{body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, time: float | None = None) -> pd.DataFrame:
        """Instant query (``/api/v1/query``); a range selector returns its raw samples."""
        return _frame_from_result(self._get("/api/v1/query", query=expr, time=time))

    def query_range(self, expr: str, start: float, end: float, step="1s") -> pd.DataFrame:
        """Range query (``/api/v1/query_range``)."""
        return _frame_from_result(self._get("/api/v1/query_range", query=expr, start=start, end=end,
                                            step=seconds(step)))

    def label_values(self, label: str = "__name__", match: str | None = None) -> list[str]:
        """The values of ``label`` (``__name__``: every metric name) in the stored series, sorted;
        ``match`` restricts them to the series of one selector."""
        path = "/api/v1/label/" + urllib.parse.quote(label, safe="") + "/values"
        return sorted(self._get(path, **({"match[]": match} if match else {})))

    def targets(self) -> pd.DataFrame:
        data = self._get("/api/v1/targets")
        return pd.DataFrame([{"job": t["labels"].get("job"), "instance": t["labels"].get("instance"),
                              "health": t["health"], "last_error": t.get("lastError", ""),
                              "scrape_url": t.get("scrapeUrl")} for t in data["activeTargets"]])

    def rules(self) -> pd.DataFrame:
        data = self._get("/api/v1/rules")
        return pd.DataFrame([{"group": g["name"], "name": r["name"], "type": r["type"], "health": r.get("health"),
                              "last_error": r.get("lastError", ""), "query": r["query"]}
                             for g in data["groups"] for r in g["rules"]])

    def alerts(self) -> pd.DataFrame:
        data = self._get("/api/v1/alerts")
        return pd.DataFrame([{"alertname": a["labels"].get("alertname"), "state": a["state"], **a["labels"]}
                             for a in data["alerts"]])

    def wait_for(self, expr: str, timeout: float = 30.0, min_rows: int = 1, poll: float = 0.25) -> pd.DataFrame:
        """Poll ``expr`` until it returns at least ``min_rows`` rows (bounded by ``timeout``)."""
        deadline = time.monotonic() + timeout
        df = pd.DataFrame()
        while time.monotonic() < deadline:
            df = self.query(expr)
            if len(df) >= min_rows:
                return df
            time.sleep(poll)
        raise PrometheusError(expr, f"fewer than {min_rows} rows after {timeout}s")
