"""`python -m simulator`: the `resim` command."""

from simulator.entry import main

main()
