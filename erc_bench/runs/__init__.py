"""A benchmark run of any system: the part every system shares.

``benchmark`` loads the corpora, constructs and checks every component, opens
one MLflow run per dataset and seed, and hands the work to the system: a
``StagedSystem`` (MERITS-L) runs its own recipe, any other system goes through
``system_run`` (``fit`` on train and validation, ``predict`` validation and
test, scored here). ``stage_step`` caches and logs each stage; ``results`` is
the table ``erc-bench run`` prints; ``predict`` applies a trained system to new
conversations from its ``system.json``. Imports ``core``, ``tracking``,
``train`` and ``features``; never a recipe (systems are found through the
plugin host).
"""
