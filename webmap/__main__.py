"""``python -m webmap`` runs the same command line as ``qungong``."""

from webmap.cli import main

if __name__ == "__main__":
    main()
