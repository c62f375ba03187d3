"""speedscope's JSON file format ('sampled' profiles, shared frame table)."""
from __future__ import annotations

SCHEMA = "https://www.speedscope.app/file-format-schema.json"
_UNITS = {"nanoseconds": "nanoseconds", "bytes": "bytes", "microseconds": "microseconds",
          "milliseconds": "milliseconds", "seconds": "seconds"}


def speedscope_document(name: str, profile_name: str, unit: str, frames: list[dict],
                        samples: list[list[int]], weights: list[int]) -> dict:
    """A speedscope file: ``frames`` are {name[, file, line]}, each sample lists frame indexes root first."""
    return {
        "$schema": SCHEMA,
        "shared": {"frames": frames},
        "profiles": [{
            "type": "sampled", "name": profile_name,
            "unit": _UNITS.get(unit, "none"), "startValue": 0, "endValue": int(sum(weights)),
            "samples": samples, "weights": weights,
        }],
        "name": name,
        "activeProfileIndex": 0,
        "exporter": "perfkit",
    }
