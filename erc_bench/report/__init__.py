"""Everything a run reports, below the recipe (which logs through it) and above the kernel.

``tracking`` (the only module that spells MLflow tag, run-kind and metric names),
``run_log`` (what a benchmark writes to MLflow: notes, headline, plots, summary),
``plots`` (the figures, shared by MLflow and the HTML report), ``collect`` and
``html`` (``erc-bench report``), ``results`` (the table ``erc-bench run``
prints), ``leaderboard``, ``compare`` (paired significance tests between logged
runs), ``metrics`` (weighted F1 and friends, named exactly) and ``datainfo``
(what a dataset plugin delivers).
"""
