"""``python -m erc_bench.cli``: the same command as ``erc-bench``, for launchers that start a module.

``accelerate launch -m erc_bench.cli run SPEC`` and ``torchrun -m erc_bench.cli run SPEC`` start one
process per GPU this way; without this file the package could not be run as a module.
"""

from erc_bench.cli.app import main

if __name__ == "__main__":
    main()
