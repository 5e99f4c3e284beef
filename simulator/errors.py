"""Which errors a user can cause: they print as one plain line, not a traceback (the command line,
and a sweep point's failure message). The types are imported on first use, so that asking costs
nothing until an error is being classified."""

from __future__ import annotations


def user_errors() -> tuple[type[Exception], ...]:
    """The error types a user's input can cause (bad configuration or data, an untrained network
    where training is not allowed, a training device that is not there)."""
    from simulator.config.errors import ConfigError
    from simulator.data.datasets import DataError
    from simulator.network.train import DeviceError
    from simulator.preparation import NotTrainedError

    return (ConfigError, DataError, NotTrainedError, DeviceError)
