"""What reads runs back: the leaderboard (with its intervals and significance, ``leaderboard_stats``,
``significance``), ``compare`` (paired tests between logged runs), ``collect`` and ``html`` (``erc-bench
report``) and ``datainfo`` (what a dataset plugin delivers). Imports ``core`` and ``tracking``; nothing here
trains.
"""
