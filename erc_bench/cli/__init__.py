"""The ``erc-bench`` command line: a thin Typer layer over importable engine functions.

``app`` holds the engine's commands (``app.py``, ``cache.py``, ``data.py``,
``pretrain.py``); plugins add theirs through the ``erc_bench_register_commands``
hook. ``main`` is the console entry point.
"""

from erc_bench.cli.app import app, main

__all__ = ["app", "main"]
