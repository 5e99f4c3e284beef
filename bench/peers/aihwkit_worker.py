"""The IBM aihwkit side of bench/peers/aihwkit_compare.py; runs in aihwkit's own virtualenv.

Not part of resim and never imported by it: bench/peers/aihwkit_compare.py writes a job (a
network traced by torch.fx, test tensors, the device parameters) and runs

    bench/peers/.venv-aihwkit/bin/python bench/peers/aihwkit_worker.py JOB.pt RESULT.json

It needs only torch and aihwkit (1.1.0, its pure-PyTorch tiles: TorchInferenceRPUConfig).

The noise model is aihwkit's ReRamWan2022NoiseModel (aihwkit/inference/noise/reram.py): Wan et al.
(Nature 2022) fitted as sigma(uS) = sum_k c_k (g / g_max)^k, a separate polynomial at 1 s, 1 day
and 2 days after programming, each added to the target conductance (normal, clamped at 0); it has
no drift of the mean. resim's shipped device block (hwconfigs/prime.yaml `device:`) carries the
1 s polynomial as a fraction of G_on, so the two agree at aihwkit's reference g_max = 40 uS (aihwkit
1.1.0 sets `coeff_g_max_reference` to g_max when it uses its own coefficients, so its spread in uS
does not scale with g_max: only at 40 uS is it the published one). Weights go to conductances by
SinglePairConductanceConverter(g_max, g_min): w > 0 on the first device of a pair, w < 0 on the
second, the other at g_min, scaled by the tile's largest |w| (one tile per layer here, as resim
scales a layer by its largest weight). The power-law drift check uses StateIndependentNoiseModel
(aihwkit/inference/noise/custom.py): g(t) = g_prog ((t + t0) / t0)^(-nu).
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any


def rpu_config(job: dict[str, Any], *, scale: float, perfect: bool, tile: int) -> Any:
    from aihwkit.inference.converter.conductance import SinglePairConductanceConverter
    from aihwkit.inference.noise.reram import ReRamWan2022NoiseModel
    from aihwkit.simulator.configs import TorchInferenceRPUConfig

    device = job["device"]
    config = TorchInferenceRPUConfig()
    config.noise_model = ReRamWan2022NoiseModel(
        g_converter=SinglePairConductanceConverter(g_max=device["g_max_us"], g_min=device["g_min_us"]),
        noise_scale=scale)
    config.drift_compensation = None
    config.mapping.max_input_size = tile
    config.mapping.max_output_size = tile
    config.forward.is_perfect = perfect
    # aihwkit's advice for the Wan model's short-term read noise (forward.w_noise 0.01, additive)
    # cannot be followed: the torch tile raises "forward.w_noise not supported in torch tile", and
    # the C++ tiles of the 1.1.0 wheel fail under torch 2.13 (bench/peers notes). Its default IO
    # adds output noise (out_noise 0.06) per read instead.
    return config


def accuracy(model: Any, x: Any, y: Any, batch: int) -> float:
    import torch

    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), batch):
            correct += int((model(x[start:start + batch]).argmax(1) == y[start:start + batch]).sum())
    return 100.0 * correct / len(x)


def noise_study(job: dict[str, Any], study: dict[str, Any]) -> list[dict[str, Any]]:
    """Accuracy per (noise scale, time) over `runs` programming draws: one tile per layer (tile 0),
    ideal periphery (forward.is_perfect), so only the conductances differ from the float network.
    A time > 0 replaces the programmed conductances by the Wan fit at that time (aihwkit's
    drift_analog_weights: 1 day or 2 days)."""
    import torch
    from aihwkit.nn.conversion import convert_to_analog

    model, x, y = job["models"][study["model"]], job["x"][study["model"]], job["y"][study["model"]]
    rows = []
    for scale, t in study["points"]:
        analog = convert_to_analog(model, rpu_config(job, scale=scale, perfect=True, tile=0)).eval()
        values = []
        started = time.perf_counter()
        for run in range(study["runs"]):
            torch.manual_seed(study["seed"] + run)
            analog.program_analog_weights()
            if t > 0:
                analog.drift_analog_weights(t)
            values.append(accuracy(analog, x, y, study["batch"]))
        rows.append({"scale": scale, "t_s": t, "accuracies": values,
                     "seconds_per_image": (time.perf_counter() - started) / (study["runs"] * len(x))})
    return rows


def drift_formula(job: dict[str, Any]) -> dict[str, Any]:
    """aihwkit's own functions on fixed conductances: the power-law drift g(t) / g_prog of
    StateIndependentNoiseModel at the job's nu and t0 (no spread, no read noise), and the Wan
    model's spread at 1 day and 2 days over its spread at 1 s, per g / g_max."""
    import torch
    from aihwkit.inference.noise.custom import StateIndependentNoiseModel
    from aihwkit.inference.noise.reram import ReRamWan2022NoiseModel

    law = job["drift_law"]
    model = StateIndependentNoiseModel(g_max=40.0, drift_nu_mean=law["nu"], drift_nu_std=0.0, t_0=law["t0_s"],
                                       read_noise_scale=0.0)
    g = torch.tensor([40.0])
    nu = model.generate_drift_coefficients(g)
    power_law = [{"t_s": t, "ratio": float(model.apply_drift_noise_to_conductance(g.clone(), nu, t)[0] / g[0])}
                 for t in law["times_s"]]
    wan = ReRamWan2022NoiseModel(g_max=40.0)

    def sigma(coeff: list[float], x: float) -> float:
        return sum(c * x**k for k, c in enumerate(coeff))

    spread = [{"x": x, "t_s": t, "ratio": sigma(wan.coeff_dic[t], x) / sigma(wan.coeff_dic[1.0], x)}
              for t in (86400.0, 172800.0) for x in job["spread_x"]]
    # The spread aihwkit draws: the sample standard deviation of many draws around one target.
    drawn = []
    for x in job["spread_x"]:
        torch.manual_seed(0)
        target = torch.full((200000,), 40.0 * x)
        drawn.append({"x": x, "sigma_us": float(wan.apply_programming_noise_to_conductance(target.clone()).std())})
    return {"power_law": power_law, "wan_spread": spread, "wan_sigma_1s_us": drawn}


def timing(job: dict[str, Any], study: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-image time of one programming draw plus `images` images, median of `repeat`, for an
    ideal periphery and for aihwkit's default forward non-idealities (7-bit DAC, 9-bit ADC, output
    noise 0.06 per read), on `tile` x `tile` tiles."""
    import torch
    from aihwkit.nn.conversion import convert_to_analog

    model, x = job["models"][study["model"]], job["x"][study["model"]][:study["images"]]
    torch.set_num_threads(study["threads"])
    rows = []
    for perfect in (True, False):
        analog = convert_to_analog(model, rpu_config(job, scale=1.0, perfect=perfect, tile=study["tile"])).eval()
        seconds = []
        for repeat in range(study["repeat"]):
            torch.manual_seed(repeat)
            started = time.perf_counter()
            analog.program_analog_weights()
            with torch.no_grad():
                for start in range(0, len(x), study["batch"]):
                    analog(x[start:start + study["batch"]])
            seconds.append((time.perf_counter() - started) / len(x))
        periphery = "ideal (is_perfect)" if perfect else "default IO (7-bit in, 9-bit out, out_noise 0.06)"
        rows.append({"periphery": periphery,
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
    result["drift"] = drift_formula(job)
    for study in job["noise_studies"]:
        result["noise"].append({"model": study["model"], "rows": noise_study(job, study)})
    for study in job["timing_studies"]:
        result["timing"].append({"model": study["model"], "rows": timing(job, study)})
    with open(sys.argv[2], "w") as handle:
        json.dump(result, handle, indent=1, default=lambda v: None if isinstance(v, float) and math.isnan(v) else v)


if __name__ == "__main__":
    main()
