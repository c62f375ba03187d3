"""Two CPU profiles compared in cores (CPU seconds per wall second): whole process, subsystems, one function."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..errors import OptionError
from ..model.profile import Profile
from ..views.normalize import cores_used
from ..views.subsystems import subsystem_breakdown
from ..views.top import top


@dataclass(frozen=True)
class CPUChange:
    """Cores used by a base and a target profile."""

    base_cores: float
    target_cores: float

    @property
    def ratio(self) -> float:
        return self.target_cores / self.base_cores if self.base_cores else float("inf")

    @property
    def extra_cores(self) -> float:
        return self.target_cores - self.base_cores


def cpu_change(base: Profile, target: Profile) -> CPUChange:
    """Cores used by two CPU profiles (each over its own duration)."""
    return CPUChange(cores_used(base), cores_used(target))


def subsystem_change(base: Profile, target: Profile, mapping=None, *, by: str = "stack") -> pd.DataFrame:
    """Cores per subsystem in two CPU profiles (:func:`perfkit.subsystem_breakdown`, per second).

    Indexed by subsystem (in the mapping's order); columns base_cores,
    target_cores, change_cores and share_of_change_pct (this subsystem's part
    of the whole process's change).
    """
    b = subsystem_breakdown(base, mapping=mapping, by=by, per_second=True).set_index("subsystem")
    t = subsystem_breakdown(target, mapping=mapping, by=by, per_second=True).set_index("subsystem")
    if "cores" not in b or "cores" not in t:
        raise OptionError(target.source, "subsystem_change compares CPU profiles")
    out = pd.DataFrame({"base_cores": b["cores"], "target_cores": t["cores"]})
    out["change_cores"] = out["target_cores"] - out["base_cores"]
    whole = out["change_cores"].sum()
    out["share_of_change_pct"] = out["change_cores"] * 100.0 / whole if whole else float("nan")
    return out


@dataclass(frozen=True)
class FunctionChange:
    """One function's cumulative CPU in two profiles, in cores."""

    function: str
    base_cores: float
    target_cores: float

    @property
    def change_pct(self) -> float:
        return (self.target_cores / self.base_cores - 1) * 100 if self.base_cores else float("nan")


def function_change(base: Profile, target: Profile, function: str, *, cum: bool = True) -> FunctionChange:
    """A function's CPU (cumulative, or flat with ``cum=False``) in cores, in two CPU profiles; 0 when absent."""
    col = "cum" if cum else "flat"

    def cores(p: Profile) -> float:
        t = top(p, "cpu").set_index("name")
        if p.duration_nanos <= 0:
            raise OptionError(p.source, "the profile records no duration; cores are undefined")
        return float(t[col].get(function, 0)) / p.duration_nanos

    return FunctionChange(function, cores(base), cores(target))
