"""What a run writes: MLflow through one ``Tracker``, and the names it writes under.

``tags`` is the only module that spells MLflow tag, run-kind and metric names;
``tracker`` opens and closes runs (FINISHED / FAILED / KILLED, never left
RUNNING) and survives a dying server; ``store`` and ``check`` reach the
tracking store; ``run_log`` is what a benchmark writes (the resolved spec,
notes, headline, plots, summary); ``identity`` the tags that say which system a
run belongs to; ``plots`` the figures (shared with the HTML report). Imports
only ``core``.
"""
