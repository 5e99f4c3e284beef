#!/usr/bin/env python3
"""Check a GPU machine before a lease's training run (issue #17) and measure its training speed.

Imports everything `resim train` needs, then trains each network of scripts/train_gpu_budget.py
for one short epoch on random CIFAR-shaped images with the GPU recipes' settings (bf16 autocast,
channels-last, batch 512, crop + flip + JPEG augmentation, data on the device) and prints
images/s, so the budget driver's estimates can be checked. Takes about half a minute on a GPU.

    python scripts/gpu_smoke.py                 # on the GPU machine
    python scripts/gpu_smoke.py --device cpu    # here, tiny, to test the script itself
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--images", type=int, default=8192, help="random training images per network")
    args = parser.parse_args()

    import torch

    import simulator.cli  # noqa: F401  (everything `resim train` imports)
    from simulator.config.workload import TrainSpec
    from simulator.network.train import TensorData, train
    from simulator.network.zoo import build_zoo_model

    cuda = args.device == "cuda"
    print(f"python {sys.version.split()[0]}, torch {torch.__version__}, cuda {torch.version.cuda}, "
          f"gpu {torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}", flush=True)
    n = args.images if cuda else 64
    g = torch.Generator().manual_seed(0)
    mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    x = ((torch.randint(0, 256, (n, 3, 32, 32), generator=g).float() / 255) - torch.tensor(mean).view(1, 3, 1, 1)) \
        / torch.tensor(std).view(1, 3, 1, 1)
    data = TensorData(x, torch.randint(0, 10, (n,), generator=g), x[:1000],
                      torch.randint(0, 10, (min(n, 1000),), generator=g),
                      mean, std)
    recipe = TrainSpec(epochs=2, batch_size=512 if cuda else 32, optimizer="sgd", lr=0.1, nesterov=True,
                       schedule="onecycle", device=args.device, mixed_precision="bf16" if cuda else "off",
                       channels_last=cuda, augment={"crop_padding": 4, "horizontal_flip": True,
                                                   "jpeg_quality": 75, "jpeg_probability": 0.5})
    for name in ("vgg16_bn", "vgg19_bn", "resnet18", "alexnet"):
        torch.manual_seed(0)
        model = build_zoo_model(name, in_channels=3, num_classes=10, input_size=32)
        started = time.perf_counter()
        result = train(model, recipe, data, seed=0, progress=False)
        epoch2 = result.history[-1].seconds   # the second epoch: cuDNN has chosen its kernels
        print(f"{name}: {n / epoch2:.0f} images/s in epoch 2 ({epoch2:.2f} s, first {result.history[0].seconds:.2f} s; "
              f"{time.perf_counter() - started:.1f} s in all)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
