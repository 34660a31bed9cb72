"""The consoles every engine command prints to.

Piped output (CI logs, tox, ``| tee``) has no terminal width; rich would fall
back to 80 columns and wrap the results tables into unreadable cells, so it gets
160 columns unless ``COLUMNS`` says otherwise.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

_PIPED_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
console = Console(width=_PIPED_WIDTH)
err_console = Console(stderr=True)
