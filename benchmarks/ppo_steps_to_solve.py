"""Steps to solve CartPole-v1 with the reference PPO, per seed.

    .venv/bin/python benchmarks/ppo_steps_to_solve.py [--seeds 0 1 2] [--total-steps 150000]

After every 4th update the greedy policy plays 10 episodes; when their mean reaches 475 it plays
100 more (the grader's evaluation), and the first step count at which those 100 average 475
or more is "steps to solve". Prints, per seed: steps to solve, the CPU time used up to then,
the CPU time of the whole run, and the final policy's 100-episode greedy mean (what the grader
sees). Goal (issue 13): at most 150,000 steps and under 3 minutes of CPU per seed.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def load_reference():
    spec = importlib.util.spec_from_file_location("ppo_reference", ROOT / "solutions" / "ppo" / "ppo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--total-steps", type=int, default=None, help="default: the reference CONFIG's")
    args = parser.parse_args()
    ppo = load_reference()
    torch.set_num_threads(1)
    print(f"{'seed':>4} {'steps to solve':>15} {'CPU s to solve':>15} {'CPU s whole run':>16} {'final mean (100 ep)':>20}")
    for seed in args.seeds:
        state = {"solved_at": None, "cpu_at": None, "eval_cpu": 0.0}
        start = time.process_time()

        def probe(steps, policy, update=[0]):
            update[0] += 1
            if state["solved_at"] is not None or update[0] % 4:
                return
            t0 = time.process_time()
            weights = {k: v.detach().clone() for k, v in policy.state_dict().items()}
            if ppo.evaluate(weights, episodes=10, seed=50_000).mean() >= 475:
                if ppo.evaluate(weights, episodes=100, seed=60_000).mean() >= 475:
                    state["solved_at"] = steps
                    state["cpu_at"] = time.process_time() - start - state["eval_cpu"] - (time.process_time() - t0)
            state["eval_cpu"] += time.process_time() - t0

        weights = ppo.train_ppo("CartPole-v1", seed=seed, total_steps=args.total_steps, callback=probe)
        whole = time.process_time() - start - state["eval_cpu"]
        final = ppo.evaluate(weights, episodes=100, seed=70_000).mean()
        solved = f"{state['solved_at']:,}" if state["solved_at"] else "not solved"
        cpu_at = f"{state['cpu_at']:.1f}" if state["cpu_at"] is not None else "-"
        print(f"{seed:>4} {solved:>15} {cpu_at:>15} {whole:>16.1f} {final:>20.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
