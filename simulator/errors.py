"""Which errors a user can cause: they print as one plain line, not a traceback (the command line,
and a sweep point's failure message). The types are imported on first use, so that asking costs
nothing until an error is being classified."""

from __future__ import annotations


def user_errors() -> tuple[type[Exception], ...]:
    """The error types a user's input can cause (bad configuration or data, an untrained network
    where training is not allowed, a training device that is not there, a chip too small for the
    mapping, and the file system refusing a path: a name too long, no permission, a full disk)."""
    from simulator.config.errors import ConfigError
    from simulator.data.datasets import DataError
    from simulator.hardware.engine import BufferTooSmall
    from simulator.hardware.placement import ChipTooSmall
    from simulator.lowering.layers import NothingToMap
    from simulator.network.train import DeviceError
    from simulator.preparation import NotTrainedError

    return (ConfigError, DataError, NotTrainedError, DeviceError, ChipTooSmall, BufferTooSmall, NothingToMap, OSError)


def describe(exc: BaseException) -> str:
    """A user error as the line(s) to print: one per configuration problem, else one."""
    from simulator.config.errors import ConfigError
    from simulator.hardware.engine import BufferTooSmall
    from simulator.hardware.placement import ChipTooSmall

    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, ChipTooSmall):
        text = f"the chip is too small for the mapping: {exc}; give the hardware file more chip.tiles or tile.arrays"
    elif isinstance(exc, BufferTooSmall):
        text = (f"a pipelined chip's buffer is too small: {exc}; give the hardware file a larger "
                "buffer.capacity_bytes, or run layer-sequential (hardware_study.execution)")
    elif isinstance(exc, OSError) and exc.strerror:
        names = [str(name) for name in (exc.filename, exc.filename2) if name is not None]
        text = f"{' -> '.join(names)}: {exc.strerror}" if names else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split("\n"))
