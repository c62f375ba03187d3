import sys

from .build import report_command

sys.exit(report_command())
