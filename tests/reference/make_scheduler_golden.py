#!/usr/bin/env python3
"""Reference runs of diffusers' schedulers for tests/sd/scheduler_test.cpp.

Each scheduler class is built as a diffusers SD 1.5 pipeline builds it, SchedulerClass.from_config(SD15) with
the class defaults for everything the config leaves out, then runs full sampling loops in float32 on the CPU
with a deterministic stand-in for the U-Net that the C++ test evaluates identically:

    eps(x, t) = 0.5 * x * cos(t / 1000) + 0.1      (x: the scaled model input, t: the timestep value)

Recorded per loop: the timesteps, the sigmas (sigma samplers), the initial noise scale and the sample before the
first and after every step. Also: timestep/sigma grids over spacings and step counts, the schedules
(diffusers float32, LDM float64 -> float32, "linear") and add_noise for a batch of mixed timesteps.

Usage: make_scheduler_golden.py OUT_DIR   (writes OUT_DIR/schedulers.safetensors; deterministic)
"""
import math
import sys
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler
from safetensors.torch import save_file

# runwayml/stable-diffusion-v1-5 scheduler/scheduler_config.json (a PNDMScheduler config).
SD15 = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000,
        "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1, "clip_sample": False}
CLASSES = {"ddim": DDIMScheduler, "dpmpp_2m": DPMSolverMultistepScheduler, "euler": EulerDiscreteScheduler}
SHAPE = (2, 4, 8, 8)


def make(name, **overrides):
    sched = CLASSES[name].from_config({**SD15, **overrides})
    cfg = sched.config
    # The settings the C++ samplers implement; fail loudly if a diffusers default ever changes.
    if name == "ddim":
        assert cfg.timestep_spacing == "leading" or "timestep_spacing" in overrides
        assert not cfg.clip_sample and not cfg.thresholding and cfg.prediction_type == "epsilon"
    elif name == "dpmpp_2m":
        assert (cfg.algorithm_type, cfg.solver_order, cfg.solver_type) == ("dpmsolver++", 2, "midpoint")
        assert cfg.lower_order_final and not cfg.euler_at_final and cfg.final_sigmas_type == "zero"
        assert cfg.timestep_spacing == "linspace" or "timestep_spacing" in overrides
        assert cfg.lambda_min_clipped == -float("inf") and cfg.variance_type is None
    else:
        assert cfg.interpolation_type == "linear" and cfg.final_sigmas_type == "zero"
        assert cfg.timestep_spacing == "linspace" or "timestep_spacing" in overrides
        assert cfg.timestep_type == "discrete"
    return sched


def fake_eps(x, t):
    return 0.5 * x * math.cos(t / 1000) + 0.1


def run_loop(name, steps, x_T, eta=0.0, noises=None, generator=None, **overrides):
    sched = make(name, **overrides)
    sched.set_timesteps(steps)
    x = x_T * sched.init_noise_sigma
    out = {"timesteps": sched.timesteps.clone(), "init_noise_sigma": torch.tensor([float(sched.init_noise_sigma)])}
    if name != "ddim":
        out["sigmas"] = sched.sigmas.clone().float()
    samples = [x]
    for i, t in enumerate(sched.timesteps):
        eps = fake_eps(sched.scale_model_input(x, t), float(t))
        if name == "ddim":
            kwargs = {"eta": eta}
            if noises is not None:
                kwargs["variance_noise"] = noises[i]
            if generator is not None:
                kwargs["generator"] = generator
            x = sched.step(eps, t, x, **kwargs).prev_sample
        else:
            x = sched.step(eps, t, x).prev_sample
        samples.append(x)
    out["samples"] = torch.stack(samples)
    return out


def make_loops(tensors):
    gen = torch.Generator().manual_seed(20240611)
    x_T = torch.randn(SHAPE, generator=gen)
    tensors["x_T"] = x_T
    loops = {
        "ddim_50": dict(name="ddim", steps=50), "ddim_20": dict(name="ddim", steps=20),
        "ddim_7": dict(name="ddim", steps=7),
        "ddim_trailing_7": dict(name="ddim", steps=7, timestep_spacing="trailing"),
        "ddim_linspace_7": dict(name="ddim", steps=7, timestep_spacing="linspace"),
        "ddim_alpha_one_7": dict(name="ddim", steps=7, set_alpha_to_one=True),
        "dpmpp_2m_50": dict(name="dpmpp_2m", steps=50), "dpmpp_2m_20": dict(name="dpmpp_2m", steps=20),
        "dpmpp_2m_7": dict(name="dpmpp_2m", steps=7),
        "dpmpp_2m_leading_20": dict(name="dpmpp_2m", steps=20, timestep_spacing="leading"),
        "dpmpp_2m_karras_20": dict(name="dpmpp_2m", steps=20, use_karras_sigmas=True),
        "euler_50": dict(name="euler", steps=50), "euler_20": dict(name="euler", steps=20),
        "euler_7": dict(name="euler", steps=7),
        "euler_leading_20": dict(name="euler", steps=20, timestep_spacing="leading"),
        "euler_karras_20": dict(name="euler", steps=20, use_karras_sigmas=True),
    }
    for case, kw in loops.items():
        for key, value in run_loop(x_T=x_T, **kw).items():
            tensors[f"{case}.{key}"] = value
    # DDIM with eta 0.5: explicit per-step noise, and noise drawn from a seeded CPU generator.
    noises = torch.randn((50,) + SHAPE, generator=gen)
    tensors["ddim_eta05_50.noise"] = noises
    for key, value in run_loop("ddim", 50, x_T, eta=0.5, noises=noises).items():
        tensors[f"ddim_eta05_50.{key}"] = value
    generator = torch.Generator().manual_seed(1234)
    for key, value in run_loop("ddim", 7, x_T, eta=0.5, generator=generator).items():
        tensors[f"ddim_eta05_gen_7.{key}"] = value


def make_grids(tensors):
    """Timesteps (and sigmas) for every spacing and a range of step counts; valid = all timesteps in range."""
    for name in CLASSES:
        for spacing in ("leading", "linspace", "trailing"):
            for steps in (1, 2, 7, 20, 50, 61, 999, 1000):
                sched = make(name, timestep_spacing=spacing)
                sched.set_timesteps(steps)
                ts = sched.timesteps
                key = f"grid.{name}.{spacing}.{steps}"
                valid = bool(((ts >= 0) & (ts <= 999)).all())
                tensors[key + ".valid"] = torch.tensor([int(valid)])
                if valid:
                    tensors[key + ".timesteps"] = ts.clone()
                    if name != "ddim":
                        tensors[key + ".sigmas"] = sched.sigmas.clone().float()


def make_schedules(tensors):
    ddim = make("ddim")
    tensors["schedule.sd15.alphas_cumprod"] = ddim.alphas_cumprod.clone()
    tensors["schedule.sd15.betas"] = ddim.betas.clone()
    acp = ddim.alphas_cumprod
    tensors["schedule.sd15.sigmas"] = ((1 - acp) / acp) ** 0.5
    # LDM (ldm/modules/diffusionmodules/util.py make_beta_schedule "linear" + ddpm.py register_schedule).
    betas = (torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2).numpy()
    tensors["schedule.ldm.alphas_cumprod"] = torch.tensor(np.cumprod(1.0 - betas, axis=0), dtype=torch.float32)
    linear = DDIMScheduler.from_config({**SD15, "beta_schedule": "linear", "beta_start": 0.0001, "beta_end": 0.02})
    tensors["schedule.linear.alphas_cumprod"] = linear.alphas_cumprod.clone()

    gen = torch.Generator().manual_seed(99)
    x0 = torch.randn(5, 4, 8, 8, generator=gen)
    noise = torch.randn(5, 4, 8, 8, generator=gen)
    timesteps = torch.tensor([0, 1, 500, 998, 999], dtype=torch.int64)
    tensors["add_noise.x0"], tensors["add_noise.noise"], tensors["add_noise.timesteps"] = x0, noise, timesteps
    tensors["add_noise.out"] = ddim.add_noise(x0, noise, timesteps)
    # LDM's q_sample: the float32 buffers sqrt(acp) and sqrt(1 - acp), computed in float64 (ddpm.py
    # register_schedule: to_torch(np.sqrt(alphas_cumprod)), to_torch(np.sqrt(1. - alphas_cumprod))), gathered per
    # sample (extract_into_tensor) and applied in float32.
    acp64 = np.cumprod(1.0 - betas, axis=0)
    sqrt_acp = torch.tensor(np.sqrt(acp64), dtype=torch.float32)
    sqrt_one_minus = torch.tensor(np.sqrt(1.0 - acp64), dtype=torch.float32)
    tensors["schedule.ldm.sqrt_alphas_cumprod"], tensors["schedule.ldm.sqrt_one_minus_alphas_cumprod"] = \
        sqrt_acp, sqrt_one_minus
    shape = (-1, 1, 1, 1)
    tensors["add_noise.ldm_out"] = sqrt_acp[timesteps].view(shape) * x0 + sqrt_one_minus[timesteps].view(shape) * noise


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    tensors = {}
    make_loops(tensors)
    make_grids(tensors)
    make_schedules(tensors)
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    import diffusers
    save_file(tensors, str(out_dir / "schedulers.safetensors"), metadata={"diffusers": diffusers.__version__})
    print(f"{len(tensors)} scheduler reference tensors written to {out_dir / 'schedulers.safetensors'}")


if __name__ == "__main__":
    main()
