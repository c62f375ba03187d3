"""Prometheus metrics without a Prometheus: scrape /metrics, tidy frames, PromQL functions.

>>> from perfkit import metrics
>>> with metrics.Scraper(server.admin_url, interval=0.5) as s:
...     run_load()
>>> df = s.frame()                       # timestamp, instance, job, metric, family, type, labels..., value
>>> metrics.rate(df, "30s", metric="wordgame_http_requests_total", step="5s")
>>> metrics.red(df, "30s", step="5s")    # RED per route
"""
from .parse import parse_exposition, seconds, format_duration, tidy, normalize, label_columns
from .promql import (aggregate, bucket_quantile, delta, eval_times, histogram_quantile, increase, rate,
                     reset_adjusted, resets, select, series_columns, sum_by)
from .saved import ScrapeError, have_parquet, read_scrape, read_texts, save_frame
from .scraper import Scraper, scrape
from .wordgame import games, red, runtime

__all__ = ["Scraper", "scrape", "parse_exposition", "tidy", "normalize", "label_columns", "seconds",
           "format_duration", "rate", "increase", "delta", "aggregate", "sum_by", "histogram_quantile",
           "bucket_quantile", "select", "eval_times", "reset_adjusted", "resets", "series_columns",
           "read_scrape", "read_texts", "save_frame", "have_parquet", "ScrapeError", "red", "games", "runtime"]
