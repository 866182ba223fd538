"""The reference attention's speed against torch's fused SDPA on CPU.

Times `scaled_dot_product_attention` from solutions/attention (which also returns the
weights, as the assignment asks) and `torch.nn.functional.scaled_dot_product_attention`,
interleaved, after warm-up, and prints medians and the ratio (goal: within 2x at B=8, H=8,
T=512, d=64). The reference's chunked attention is shown too.

    .venv/bin/python benchmarks/attention_speed.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from autograder.local import load_module

ROOT = Path(__file__).resolve().parent.parent


def median_times(fns: dict, repeats: int) -> dict[str, float]:
    for fn in fns.values():  # warm-up
        fn()
        fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():  # interleaved, so drift in machine load hits all alike
            started = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(v) for name, v in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    ref = load_module(ROOT / "solutions" / "attention", "attention")
    sdpa = torch.nn.functional.scaled_dot_product_attention
    table = Table(title=f"attention on CPU, float32, {torch.get_num_threads()} threads, median of {args.repeats}")
    for col in ("B,H,T,d", "causal", "torch SDPA ms", "reference ms", "ratio", "chunked ms", "ratio"):
        table.add_column(col, justify="right")
    torch.manual_seed(0)
    with torch.no_grad():
        for (B, H, T, d) in [(8, 8, 128, 64), (8, 8, 512, 64), (1, 8, 2048, 64)]:
            q, k, v = (torch.randn(B, H, T, d) for _ in range(3))
            for causal in (False, True):
                t = median_times({
                    "torch": lambda: sdpa(q, k, v, is_causal=causal),
                    "reference": lambda: ref.scaled_dot_product_attention(q, k, v, causal=causal),
                    "chunked": lambda: ref.chunked_attention(q, k, v, chunk_size=256, causal=causal),
                }, args.repeats)
                table.add_row(f"{B},{H},{T},{d}", str(causal), f"{t['torch'] * 1e3:.1f}",
                              f"{t['reference'] * 1e3:.1f}", f"{t['reference'] / t['torch']:.2f}x",
                              f"{t['chunked'] * 1e3:.1f}", f"{t['chunked'] / t['torch']:.2f}x")
    Console().print(table)
    print("goal: reference within 2x of torch SDPA at B=8, H=8, T=512, d=64")


if __name__ == "__main__":
    main()
