"""``python -m webmap`` runs the same command line as ``qungong``."""

from webmap.cli import main

main()
