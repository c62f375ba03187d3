"""Prometheus metrics without a Prometheus: scrape /metrics, tidy frames, PromQL functions.

>>> from perfkit import metrics
>>> with metrics.Scraper(server.admin_url, interval=0.5, job="api") as s:
...     run_experiment()
>>> df = s.frame()                       # timestamp, instance, job, metric, family, type, labels..., value
>>> metrics.rate(df, "30s", metric="http_requests_total", step="5s")
>>> metrics.histogram_quantile(0.99, metrics.sum_by(metrics.rate(df, "30s", metric="..._bucket"), ["le"]))
"""
from .parse import format_duration, label_columns, normalize, parse_exposition, seconds, tidy
from .promql import (aggregate_series, bucket_quantile, delta, eval_times, histogram_quantile, increase, rate,
                     reset_adjusted, resets, select, series_columns, sum_by)
from .saved import ScrapeError, have_parquet, read_scrape, read_texts, save_frame
from .scraper import Scraper, scrape

__all__ = ["Scraper", "scrape", "parse_exposition", "tidy", "normalize", "label_columns", "seconds",
           "format_duration", "rate", "increase", "delta", "aggregate_series", "sum_by", "histogram_quantile",
           "bucket_quantile", "select", "eval_times", "reset_adjusted", "resets", "series_columns",
           "read_scrape", "read_texts", "save_frame", "have_parquet", "ScrapeError"]
