"""`python -m gateway.cli`: the `hotline` command."""

from gateway.cli import main

main()
