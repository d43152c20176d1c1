"""Speed of one training step of the default network: this build against the reference.

A training step is what ``songnet train`` repeats ``epochs x n_train / batch_size`` times
(and ``songnet validate`` once per held-out theme): augment a batch of Constant-Q images
(time shift, transposition, tempo, gain, background, masks), then forward, backward and
an AdamW step of :class:`songnet.model.network.ThemeCNN`. Two settings, on the same
images, in interleaved rounds (this machine's speed drifts), each keeping its best:

- ``reference``: the network with its weights and feature maps in PyTorch's default
  (NCHW) layout, and the warp as one bilinear ``affine_grid`` + ``grid_sample`` (the
  implementation before this build);
- ``songnet``: this build, channels-last (NHWC) weights and maps and the warp as an exact
  bin shift plus a linear resampling along time (:func:`songnet.model.augment.augment`).

Also checks that both warps give the same images (to float rounding) and both layouts the
same logits. Prints per-step milliseconds of the augmentation and of the network, images
per second, and the speed-up. Last line: ``step_ms= reference_ms= speedup=``.

    .venv/bin/python benchmarks/train_step.py [--batch 64] [--rounds 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch
from torch import nn

from songnet.model.augment import augment, warp_reference
from songnet.model.train import new_network
from songnet.model.train_params import TrainParams


def reference_augment(x: torch.Tensor, params: TrainParams,
                      noise: torch.Tensor) -> torch.Tensor:
    """:func:`augment` with the reference warp (everything after the warp is shared)."""
    no_warp = dataclasses.replace(params, shift_frames=0, pitch_bins=0, stretch=0.0)
    return augment(warp_reference(x, params), params=no_warp, noise=noise)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=4, help="steps timed per round")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    params = TrainParams()
    shape = (80, 517)  # the default features' image
    torch.manual_seed(0)
    images = torch.rand(args.batch, *shape) ** 4  # mostly dark, as Constant-Q images are
    noise = torch.rand(32, *shape) ** 4
    labels = torch.randint(0, 13, (args.batch,))

    # the warp's affine part (the reference has no time wobble: time_warp 0 in both)
    affine = dataclasses.replace(params, time_warp=0.0)
    torch.manual_seed(1)
    a = warp_reference(images, affine)
    torch.manual_seed(1)
    b = augment(images, params=dataclasses.replace(affine, gain=0.0, noise_prob=0.0,
                                                   freq_mask=0, time_mask=0))
    warp_diff = float((a - b).abs().max())

    nets = {}
    for name in ("reference", "songnet"):
        torch.manual_seed(2)
        net = new_network(params, image_shape=shape, n_classes=13)
        if name == "reference":
            net.to(memory_format=torch.contiguous_format)
        nets[name] = (net, torch.optim.AdamW(net.parameters(), lr=1e-4))
    nets["reference"][0].load_state_dict(nets["songnet"][0].state_dict())
    with torch.no_grad():
        logit_diff = float((nets["reference"][0].eval()(images[:, None])
                            - nets["songnet"][0].eval()(images[:, None])).abs().max())

    def step(name: str) -> tuple[float, float]:
        net, opt = nets[name]
        net.train()
        t0 = time.perf_counter()
        if name == "reference":
            xb = reference_augment(images, params, noise)
            xb = xb[:, None].contiguous()
        else:
            xb = augment(images, params=params, noise=noise)[:, None]
        t1 = time.perf_counter()
        loss = nn.functional.cross_entropy(net(xb), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return t1 - t0, time.perf_counter() - t1

    best: dict[str, tuple[float, float]] = {}
    for name in nets:  # warm-up: allocator, oneDNN primitives
        step(name)
    for _ in range(args.rounds):
        for name in nets:
            times = [step(name) for _ in range(args.steps)]
            aug = min(t[0] for t in times)
            netw = min(t[1] for t in times)
            if name not in best or aug + netw < sum(best[name]):
                best[name] = (aug, netw)
    print(f"batch {args.batch} images of {shape[0]}x{shape[1]}, {args.threads} threads, "
          f"best of {args.rounds} interleaved rounds x {args.steps} steps")
    print(f"same images from both warps: max difference {warp_diff:.1e}; same logits from "
          f"both layouts: max difference {logit_diff:.1e}")
    for name, (aug, netw) in best.items():
        total = aug + netw
        print(f"{name:10s} augment {1000 * aug:6.1f} ms  network {1000 * netw:6.1f} ms  "
              f"step {1000 * total:6.1f} ms  ({args.batch / total:5.0f} images/s)")
    new, ref = sum(best["songnet"]), sum(best["reference"])
    print(f"step_ms={1000 * new:.1f} reference_ms={1000 * ref:.1f} speedup={ref / new:.2f}")


if __name__ == "__main__":
    main()
