"""The `resim` console script: Ctrl-C handling is in place before anything heavy is imported
(typer, then torch inside the commands), so an interruption at any moment exits 130 with one line
(simulator.interrupts)."""

from __future__ import annotations


def main() -> None:
    from simulator import interrupts

    interrupts.install()
    from simulator.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
