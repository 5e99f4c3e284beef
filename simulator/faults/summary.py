"""Summaries of fault draws (torch-free, so a report can be read without torch): the mean, spread
and 95 % interval (Student's t, with its n) per (encoding, rate) and seed 003's tolerable fault rate."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer

if TYPE_CHECKING:   # the tables are the callers': a report that reads a FaultPoint needs no pandas
    import pandas as pd

LEVEL = 0.95
CI_COLUMN = "95 % CI of the mean (%, Student's t, n draws)"


def summarise(draws: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and 95 % confidence interval of the mean per (encoding, rate),
    over `runs` draws (the interval's n)."""
    grouped = draws.groupby(["encoding", "rate"], sort=False)["accuracy"]
    out = grouped.agg(["count", "mean", "std"]).reset_index().rename(columns={"count": "runs"})
    out["std"] = out["std"].fillna(0.0)
    out["ci95_low"], out["ci95_high"] = t_interval(out["mean"].to_numpy(), out["std"].to_numpy(),
                                                   out["runs"].to_numpy())
    return out


def t_interval(mean: np.ndarray, std: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 95 % confidence interval of a mean of `n` draws with sample standard deviation `std`:
    Student's t with n - 1 degrees of freedom (1.96, the normal quantile, is too narrow for a few
    draws: t = 4.30 for 3). NaN where n < 2: one draw says nothing about the spread."""
    from scipy import stats

    n = np.asarray(n, dtype=float)
    factor = np.where(n >= 2, stats.t.ppf(0.5 + LEVEL / 2, np.maximum(n - 1, 1)), np.nan)
    half = factor * np.asarray(std, dtype=float) / np.sqrt(np.maximum(n, 1))
    return np.asarray(mean) - half, np.asarray(mean) + half


def interval_text(low: float | None, high: float | None, n: int) -> str:
    """An interval of accuracies (fractions) in percent with its n beside it, for tables read by
    people; cut to 0-100 %, the range an accuracy can take (Student's t knows no bounds: two
    draws far apart give a span wider than that)."""
    if low is None or high is None or low != low or high != high:
        return f"none (n = {n})"
    return f"{_span(low, high)} (n = {n})"


def mean_text(mean: float, low: float, high: float) -> str:
    """A mean accuracy (a fraction) in percent with its 95 % interval cut to 0-100 % (three draws
    far apart gave "58.51 % (-7.55-124.58)"); the mean alone where one draw gives no interval."""
    if low != low or high != high:
        return f"{mean * 100:.2f} %"
    return f"{mean * 100:.2f} % ({_span(low, high)})"


def _span(low: float, high: float) -> str:
    """An interval of accuracies in percent, cut to 0-100 %: the range an accuracy can take."""
    return f"{100 * max(low, 0.0):.2f} to {100 * min(high, 1.0):.2f}"


# A summary's columns as printed: the header and whether the column is an accuracy (a share,
# shown in percent) or a difference of accuracies (shown in percentage points).
SHOWN_COLUMNS = {
    "encoding": ("encoding", None), "rate": ("fault rate (p_sa0 + p_sa1)", None), "runs": ("draws", None),
    "mean": ("mean accuracy (%)", "percent"), "std": ("std (points)", "points"),
    "mean_quantized_inputs": ("mean, quantized inputs (%)", "percent"),
    "mean_bit_true": ("mean, bit-true (%)", "percent"), "adc_loss": ("ADC loss (points)", "points"),
}


def shown(summary: pd.DataFrame) -> pd.DataFrame:
    """A summary as printed for people: accuracies in percent, spreads and losses in percentage
    points, readable headers, and the interval's two ends in one column with its n beside them."""
    text = [interval_text(low, high, int(n))
            for low, high, n in zip(summary["ci95_low"], summary["ci95_high"], summary["runs"])]
    at = list(summary.columns).index("ci95_low")
    out = readable(summary.drop(columns=["ci95_low", "ci95_high"]), SHOWN_COLUMNS)
    out.insert(at, CI_COLUMN, text)
    return out


# The fine-tuning summary's columns as printed (simulator.faults.aware_training.summarise_aware).
AWARE_COLUMNS = {
    "encoding": ("encoding", None), "rate": ("fault rate", None), "strategy": ("strategy", None),
    "runs": ("draws", None), "before": ("before (%)", "percent"),
    "after_as_trained": ("after, as trained (%)", "percent"), "after_on_chip": ("after, on the chip (%)", "percent"),
    "after_on_chip_std": ("std on the chip (points)", "points"), "faulty_share": ("faulty weights (%)", "percent"),
}


def readable(frame: pd.DataFrame, columns: dict[str, tuple[str, str | None]], *, keep_all: bool = True) -> pd.DataFrame:
    """`frame` for people: each column of `columns` renamed to its header, shares (unit percent)
    and differences of shares (unit points) times 100 to two decimals; with `keep_all` off, only
    those columns, in that order."""
    out = frame.copy() if keep_all else frame[[c for c in columns if c in frame]].copy()
    for column, (_, unit) in columns.items():
        if unit is not None and column in out:
            out[column] = (100 * out[column].astype(float)).round(2)
    return out.rename(columns={c: header for c, (header, _) in columns.items()})


class FaultPoint(BaseModel):
    """Accuracy under faults at one (encoding, rate): mean over the draws with a 95 % interval;
    with bit-true emulation also the means with quantized inputs and bit-true, and the ADC loss."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    encoding: str = Field(description="Sign encoding")
    rate: float = Field(description="Total cell fault rate p_sa0 + p_sa1")
    runs: int = Field(description="Fault draws: the n of the interval")
    mean: float = Field(description="Mean test accuracy over the draws (weight level)")
    std: float = Field(description="Standard deviation of the draws' accuracies")
    ci95_low: float | None = Field(description="Lower end of the mean's 95 % confidence interval (Student's t, "
                                               "runs - 1 degrees of freedom); none from one draw")
    ci95_high: float | None = Field(description="Upper end of the mean's 95 % confidence interval (Student's t, "
                                                "runs - 1 degrees of freedom); none from one draw")
    mean_quantized_inputs: float | None = Field(None, description="Bit-true study: mean with inputs quantized")
    mean_bit_true: float | None = Field(None, description="Bit-true study: mean bit-true accuracy")
    adc_loss: float | None = Field(None, description="Bit-true study: mean accuracy the ADCs cost")

    @field_validator("ci95_low", "ci95_high", mode="before")
    @classmethod
    def _no_interval_from_one_draw(cls, value: object) -> object:
        return None if isinstance(value, float) and value != value else value

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

    Returns 0.0 when the lowest measured rate above 0 already loses more (a fault-free point,
    rate 0, has no place on a log axis, so nothing is interpolated from it), inf when none does."""
    order = np.argsort(rates)
    rates, means = np.asarray(rates, float)[order], np.asarray(means, float)[order]
    floor = clean - drop
    below = np.nonzero(means < floor)[0]
    if below.size == 0:
        return float("inf")
    i = int(below[0])
    if i == 0 or rates[i - 1] <= 0:
        return 0.0
    lo, hi = np.log(rates[i - 1]), np.log(rates[i])
    t = (means[i - 1] - floor) / (means[i - 1] - means[i])
    return float(np.exp(lo + t * (hi - lo)))


def tolerable_rates(summary: pd.DataFrame, clean: float, drop: float = 0.01) -> dict[str, float]:
    """tolerable_rate per encoding of a fault-study summary."""
    return {str(encoding): tolerable_rate(group["rate"].to_numpy(), group["mean"].to_numpy(), clean, drop)
            for encoding, group in summary.groupby("encoding", sort=False)}
