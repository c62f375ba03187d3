"""perfkit: a Jupyter-first investigation kit for Go services."""
from .errors import (ArchiveError, EmptyProfileError, OptionError, PerfkitError, ProfileError,
                     ToolMissingError, TraceError)
from .model.profile import Profile, ValueType
from .sources.pprof import decode_profile, read_profile
from .views.top import top

__version__ = "0.1.0"
