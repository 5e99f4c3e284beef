"""Which errors a user can cause: they print as one plain line, not a traceback (the command line,
and a sweep point's failure message). The types are imported on first use, so that asking costs
nothing until an error is being classified."""

from __future__ import annotations

import sys

# (module, class) of every error type a user's input can cause, beside ConfigError and OSError.
_USER_ERRORS = (("simulator.data.datasets", "DataError"), ("simulator.preparation", "NotTrainedError"),
                ("simulator.network.train", "DeviceError"), ("simulator.hardware.placement", "ChipTooSmall"),
                ("simulator.hardware.engine", "BufferTooSmall"), ("simulator.lowering.layers", "NothingToMap"),
                ("simulator.lowering.conv_options", "UnmodelledLayer"))


def _loaded(module: str, name: str) -> type[Exception] | None:
    """The class `name` of `module` when that module is already imported, else None: an error of a
    module never imported cannot have been raised, and importing one here (torch with it) while a
    Ctrl-C or SIGTERM interrupted that very import would crash the interpreter."""
    loaded = sys.modules.get(module)
    found = getattr(loaded, name, None) if loaded is not None else None
    return found if isinstance(found, type) and issubclass(found, Exception) else None


def user_errors() -> tuple[type[Exception], ...]:
    """The error types a user's input can cause (bad configuration or data, an untrained network
    where training is not allowed, a training device that is not there, a chip too small for the
    mapping, a network with nothing to map, and the file system refusing a path: a name too long,
    no permission, a full disk); those of modules not yet imported are left out (`_loaded`)."""
    from simulator.config.errors import ConfigError

    found = [kind for kind in (_loaded(module, name) for module, name in _USER_ERRORS) if kind is not None]
    return (ConfigError, *found, OSError)


def describe(exc: BaseException) -> str:
    """A user error as the line(s) to print: one per configuration problem, else one."""
    from simulator.config.errors import ConfigError

    name = type(exc).__name__
    if isinstance(exc, ConfigError):
        return str(exc)
    if name == "ChipTooSmall" and isinstance(exc, _loaded("simulator.hardware.placement", name) or ()):
        text = f"the chip is too small for the mapping: {exc}; give the hardware file more chip.tiles or tile.arrays"
    elif name == "BufferTooSmall" and isinstance(exc, _loaded("simulator.hardware.engine", name) or ()):
        text = (f"a pipelined chip's buffer is too small: {exc}; give the hardware file a larger "
                "buffer.capacity_bytes, or run layer-sequential (hardware_study.execution)")
    elif isinstance(exc, OSError) and exc.strerror:
        names = [str(name) for name in (exc.filename, exc.filename2) if name is not None]
        text = f"{' -> '.join(names)}: {exc.strerror}" if names else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split("\n"))
