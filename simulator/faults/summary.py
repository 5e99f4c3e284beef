"""Summaries of fault draws (torch-free, so a report can be read without torch): the mean, spread
and 95 % interval per (encoding, rate) and seed 003's tolerable fault rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_serializer


def summarise(draws: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and 95 % confidence interval of the mean per (encoding, rate)."""
    grouped = draws.groupby(["encoding", "rate"], sort=False)["accuracy"]
    out = grouped.agg(["count", "mean", "std"]).reset_index().rename(columns={"count": "runs"})
    out["std"] = out["std"].fillna(0.0)
    half = 1.96 * out["std"] / np.sqrt(out["runs"])
    out["ci95_low"], out["ci95_high"] = out["mean"] - half, out["mean"] + half
    return out


class FaultPoint(BaseModel):
    """Accuracy under faults at one (encoding, rate): mean over the draws with a 95 % interval;
    with bit-true emulation also the means with quantized inputs and bit-true, and the ADC loss."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    encoding: str = Field(description="Sign encoding")
    rate: float = Field(description="Total cell fault rate p_sa0 + p_sa1")
    runs: int = Field(description="Fault draws")
    mean: float = Field(description="Mean test accuracy over the draws (weight level)")
    std: float = Field(description="Standard deviation of the draws' accuracies")
    ci95_low: float = Field(description="Lower end of the mean's 95 % confidence interval")
    ci95_high: float = Field(description="Upper end of the mean's 95 % confidence interval")
    mean_quantized_inputs: float | None = Field(None, description="Bit-true study: mean with inputs quantized")
    mean_bit_true: float | None = Field(None, description="Bit-true study: mean bit-true accuracy")
    adc_loss: float | None = Field(None, description="Bit-true study: mean accuracy the ADCs cost")

    @model_serializer(mode="wrap")
    def _bit_true_only_when_measured(self, handler: object) -> dict[str, object]:
        data: dict[str, object] = handler(self)  # type: ignore[operator]
        if self.mean_bit_true is None:
            for key in ("mean_quantized_inputs", "mean_bit_true", "adc_loss"):
                data.pop(key, None)
        return data


def tolerable_rate(rates: np.ndarray, means: np.ndarray, clean: float, drop: float = 0.01) -> float:
    """The fault rate at which mean accuracy falls `drop` below the fault-free accuracy, by
    log-linear interpolation between the measured rates (seed 003's tolerance measure).

    Returns 0.0 when the first measured rate already loses more, inf when none does."""
    order = np.argsort(rates)
    rates, means = np.asarray(rates, float)[order], np.asarray(means, float)[order]
    floor = clean - drop
    below = np.nonzero(means < floor)[0]
    if below.size == 0:
        return float("inf")
    i = int(below[0])
    if i == 0 or rates[i - 1] <= 0:
        return 0.0 if i == 0 else float(rates[i])
    lo, hi = np.log(rates[i - 1]), np.log(rates[i])
    t = (means[i - 1] - floor) / (means[i - 1] - means[i])
    return float(np.exp(lo + t * (hi - lo)))


def tolerable_rates(summary: pd.DataFrame, clean: float, drop: float = 0.01) -> dict[str, float]:
    """tolerable_rate per encoding of a fault-study summary."""
    return {str(encoding): tolerable_rate(group["rate"].to_numpy(), group["mean"].to_numpy(), clean, drop)
            for encoding, group in summary.groupby("encoding", sort=False)}
