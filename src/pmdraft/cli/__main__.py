"""``python -m pmdraft.cli``: the same as the ``pmdraft`` console script."""

from . import main

main()
