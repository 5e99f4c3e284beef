"""The IBM aihwkit side of bench/peers/aihwkit_compare.py; runs in aihwkit's own virtualenv.

Not part of resim and never imported by it: bench/peers/aihwkit_compare.py writes a job (a
network traced by torch.fx, test tensors, the device parameters) and runs

    bench/peers/.venv-aihwkit/bin/python bench/peers/aihwkit_worker.py JOB.pt RESULT.json

It needs only torch and aihwkit (1.1.0, its pure-PyTorch tiles: TorchInferenceRPUConfig).

The noise model is aihwkit's StateIndependentNoiseModel (aihwkit/inference/noise/custom.py):
programming noise sigma = gamma (c0 + c1 g/g_max + c2 (g/g_max)^2) (uS) added to the target
conductance and clamped at 0; drift g(t) = g_prog ((t + t0) / t0)^(-nu) with nu = |nu_mean +
nu_std xi| per device, t counted from the end of programming; its 1/f read noise switched off
(read_noise_scale 0) because resim draws read noise per read instead. Weights go to conductances
by SinglePairConductanceConverter(g_max, g_min): w > 0 on the first device of a pair, w < 0 on
the second, the other at g_min, scaled by the tile's largest |w|.
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any


def rpu_config(job: dict[str, Any], *, sigma_us: float, perfect: bool, tile: int, nu_std: float,
               compensate: bool) -> Any:
    from aihwkit.inference.compensation.drift import GlobalDriftCompensation
    from aihwkit.inference.converter.conductance import SinglePairConductanceConverter
    from aihwkit.inference.noise.custom import StateIndependentNoiseModel
    from aihwkit.simulator.configs import TorchInferenceRPUConfig

    device = job["device"]
    config = TorchInferenceRPUConfig()
    config.noise_model = StateIndependentNoiseModel(
        g_converter=SinglePairConductanceConverter(g_max=device["g_on_us"], g_min=device["g_off_us"]),
        prog_coeff=[sigma_us, 0.0, 0.0],
        drift_nu_mean=device["drift_nu"], drift_nu_std=nu_std, t_0=device["drift_t0_s"],
        read_noise_scale=0.0)
    config.drift_compensation = GlobalDriftCompensation() if compensate else None
    config.mapping.max_input_size = tile
    config.mapping.max_output_size = tile
    config.forward.is_perfect = perfect
    return config


def accuracy(model: Any, x: Any, y: Any, batch: int) -> float:
    import torch

    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), batch):
            correct += int((model(x[start:start + batch]).argmax(1) == y[start:start + batch]).sum())
    return 100.0 * correct / len(x)


def noise_study(job: dict[str, Any], study: dict[str, Any]) -> list[dict[str, Any]]:
    """Accuracy per (sigma, time) over `runs` programming draws; one tile per layer (tile 0), as
    resim scales a layer by its largest weight, ideal periphery (forward.is_perfect)."""
    import torch
    from aihwkit.nn.conversion import convert_to_analog

    model, x, y = job["models"][study["model"]], job["x"][study["model"]], job["y"][study["model"]]
    rows = []
    for sigma in study["sigmas_us"]:
        for t in study["times_s"]:
            analog = convert_to_analog(model, rpu_config(job, sigma_us=sigma, perfect=True, tile=0,
                                                         nu_std=study["nu_std"], compensate=False)).eval()
            values = []
            started = time.perf_counter()
            for run in range(study["runs"]):
                torch.manual_seed(study["seed"] + run)
                analog.program_analog_weights()
                if t > 0:
                    analog.drift_analog_weights(t)
                values.append(accuracy(analog, x, y, study["batch"]))
            rows.append({"sigma_us": sigma, "t_s": t, "accuracies": values,
                         "seconds_per_image": (time.perf_counter() - started) / (study["runs"] * len(x))})
    return rows


def drift_formula(job: dict[str, Any], times: list[float]) -> list[dict[str, float]]:
    """g(t) / g_prog of one conductance through aihwkit's own drift function (nu_std 0, no read
    noise), beside its formula."""
    import torch
    from aihwkit.inference.noise.custom import StateIndependentNoiseModel

    device = job["device"]
    model = StateIndependentNoiseModel(g_max=device["g_on_us"], drift_nu_mean=device["drift_nu"], drift_nu_std=0.0,
                                       t_0=device["drift_t0_s"], read_noise_scale=0.0)
    g = torch.tensor([device["g_on_us"]])
    nu = model.generate_drift_coefficients(g)
    rows = []
    for t in times:
        ratio = float(model.apply_drift_noise_to_conductance(g.clone(), nu, t)[0] / g[0])
        rows.append({"t_s": t, "aihwkit": ratio,
                     "formula": ((t + device["drift_t0_s"]) / device["drift_t0_s"]) ** -device["drift_nu"]})
    return rows


def timing(job: dict[str, Any], study: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-image time of one programming draw plus `images` images, median of `repeat`, for an
    ideal periphery and for aihwkit's default forward non-idealities (7-bit DAC, 9-bit ADC, output
    noise), on `tile` x `tile` tiles."""
    import torch
    from aihwkit.nn.conversion import convert_to_analog

    model, x = job["models"][study["model"]], job["x"][study["model"]][:study["images"]]
    torch.set_num_threads(study["threads"])
    rows = []
    for perfect in (True, False):
        analog = convert_to_analog(model, rpu_config(job, sigma_us=study["sigma_us"], perfect=perfect,
                                                     tile=study["tile"], nu_std=0.0, compensate=False)).eval()
        seconds = []
        for repeat in range(study["repeat"]):
            torch.manual_seed(repeat)
            started = time.perf_counter()
            analog.program_analog_weights()
            with torch.no_grad():
                for start in range(0, len(x), study["batch"]):
                    analog(x[start:start + study["batch"]])
            seconds.append((time.perf_counter() - started) / len(x))
        rows.append({"periphery": "ideal (is_perfect)" if perfect else "aihwkit default IO",
                     "ms_per_image": sorted(seconds)[len(seconds) // 2] * 1000,
                     "all_ms": [round(s * 1000, 2) for s in seconds]})
    return rows


def main() -> None:
    import aihwkit
    import torch

    job = torch.load(sys.argv[1], weights_only=False)
    torch.set_num_threads(job.get("threads", 1))
    result: dict[str, Any] = {"aihwkit": aihwkit.__version__, "torch": torch.__version__,
                              "noise": [], "timing": []}
    result["drift_formula"] = drift_formula(job, job["drift_times_s"])
    for study in job["noise_studies"]:
        result["noise"].append({"model": study["model"], "rows": noise_study(job, study)})
    for study in job["timing_studies"]:
        result["timing"].append({"model": study["model"], "rows": timing(job, study)})
    with open(sys.argv[2], "w") as handle:
        json.dump(result, handle, indent=1, default=lambda v: None if isinstance(v, float) and math.isnan(v) else v)


if __name__ == "__main__":
    main()
