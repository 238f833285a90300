"""``python -m rca`` runs the command line."""

from rca.cli import main

main()
