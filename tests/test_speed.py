"""Speed and memory tests (autograder/speed): the manifest's rules, the scoring of bands and of
GPU tests that cannot run, and the attention week's speed tests graded for real: the reference
passes them, a Python loop over the heads fails them, a fast wrong answer earns nothing, and
the GPU test is "not run here" without changing the score."""

from __future__ import annotations

import time

import pytest

from autograder import grading, manifest as manifest_mod
from autograder.speed import rules
from conftest import ROOT
from source_utils import markers, variants

ATTENTION = ROOT / "solutions" / "attention"
SPEED_TESTS = "test_speed_sdpa or test_speed_sdpa_gpu or test_memory_chunked or test_memory_chunked_gpu"
GPU_TESTS = ("test_speed_sdpa_gpu", "test_memory_chunked_gpu")


def has_gpu() -> bool:
    import torch
    return torch.cuda.is_available()


# ---------------------------------------------------------------------------- rules

def rule(**raw):
    return rules.parse([{"tests": ["test_x"], "max_ratio": 3.0, **raw}], "m.toml")[0]


def test_bands_give_partial_credit():
    r = rule(bands=[[2.0, 1.0], [3.0, 0.5]])
    assert [r.credit(x) for x in (0.5, 2.0, 2.01, 3.0, 3.01, 50.0)] == [1.0, 1.0, 0.5, 0.5, 0.0, 0.0]
    assert rule().credit(2.99) == 1.0 and rule().credit(3.01) == 0.0
    assert "full points up to 2x, 50% of the points up to 3x" == r.describe()


@pytest.mark.parametrize("raw, why", [
    ({"max_ratio": 1.5}, "at least 2"),
    ({"bands": [[3.0, 1.0], [2.0, 0.5]]}, "increase"),
    ({"bands": [[2.0, 0.5]]}, "full points"),
    ({"bands": [[2.0, 1.0], [4.0, 0.5]]}, "between"),
    ({"kind": "speed"}, "kind"),
    ({"device": "tpu"}, "device"),
    ({"repeats": 0}, "repeats"),
    ({"typo": 1}, "unknown"),
])
def test_bad_rules_are_refused_with_a_reason(raw, why):
    with pytest.raises(rules.RuleError, match=why):
        rule(**raw)


def test_attention_manifest_has_its_speed_rules():
    man = manifest_mod.load(ATTENTION)
    assert man.speed_rule("test_speed_sdpa").kind == "time"
    assert man.speed_rule("test_speed_sdpa_gpu").device == "cuda"
    assert man.speed_rule("test_memory_chunked").kind == "memory"
    assert man.speed_rule("test_sdpa_matches_torch") is None


# ---------------------------------------------------------------------------- scoring

def entry(function, outcome="passed", **extra):
    return {"event": "test", "nodeid": f"t::{function}", "function": function, "params": "", "kind": "hidden",
            "outcome": outcome, "message": extra.pop("message", ""), **extra}


def test_credit_scales_a_passing_test_and_gpu_tests_count_neither_way():
    man = manifest_mod.load(ATTENTION)
    entries = [entry("test_speed_sdpa", credit=0.5), entry("test_memory_chunked"),
               entry("test_speed_sdpa_gpu", "skipped", message=rules.NO_GPU)]
    tests = {t.name: t for t in grading.score(man, entries)}
    # 10 points over the two tests that ran (the GPU test's share goes to them), half credit for one
    assert tests["test_speed_sdpa"].max_score == pytest.approx(5) and tests["test_speed_sdpa"].score == pytest.approx(2.5)
    assert tests["test_memory_chunked"].score == pytest.approx(5)
    assert tests["test_speed_sdpa_gpu"].max_score == 0
    notes = rules.rescale_without_gpu(man, list(tests.values()))
    assert notes and "neither for nor against" in notes[0]


def test_gpu_rescale_keeps_the_total_when_a_gpu_only_part_cannot_run(tmp_path):
    folder = tmp_path / "gpu"
    folder.mkdir()
    (folder / "assignment.toml").write_text(
        'slug = "gpu"\ntitle = "t"\nmodule = "m"\ngpu_rescale = true\n'
        '[[parts]]\nid = "a"\ntitle = "A"\npoints = 8\ntests = ["test_a"]\n'
        '[[parts]]\nid = "g"\ntitle = "G"\npoints = 2\ntests = ["test_g"]\n'
        '[[speed]]\ntests = ["test_g"]\ndevice = "cuda"\nmax_ratio = 2\n')
    man = manifest_mod.load(folder)
    tests = grading.score(man, [entry("test_a"), entry("test_g", "skipped", message=rules.NO_GPU)])
    assert sum(t.max_score for t in tests) == pytest.approx(8)
    notes = rules.rescale_without_gpu(man, tests)
    assert sum(t.max_score for t in tests) == pytest.approx(10) and sum(t.score for t in tests) == pytest.approx(10)
    assert "scaled" in notes[0]


# ---------------------------------------------------------------------------- graded for real

def variant_source(name: str) -> str:
    text = (ATTENTION / "attention.py").read_text()
    if name == "reference":
        return markers.remove_solution_markers(text, "attention.py")
    mutant = next(m for m in variants.load_mutants(ATTENTION) if m["name"] == name)
    return markers.remove_solution_markers(variants.apply_mutant(text, mutant, "attention.py"), "attention.py")


def slowed(calls: int) -> str:
    """The reference, with its speed-test calls made about 2.8x slower (a sleep of 1.8 times the
    call's own time) for the first `calls` of them: a stand-in for a measurement that load or
    a worker's state spoiled (calls=13: the first measurement, 2 warm-ups and 11 repeats) and
    for code that really is that slow (calls=10**6)."""
    return variant_source("reference") + f"""

import time as _time

_reference_sdpa = scaled_dot_product_attention
_speed_calls = [0]


def scaled_dot_product_attention(*args, **kwargs):
    start = _time.perf_counter()
    result = _reference_sdpa(*args, **kwargs)
    q = args[0]
    if q.dim() == 4 and q.shape[1] == 64:  # the speed test's shape
        _speed_calls[0] += 1
        if _speed_calls[0] <= {calls}:
            _time.sleep(1.8 * (_time.perf_counter() - start))
    return result
"""


def grade_speed(tmp_path, source: str, label: str) -> dict[str, grading.TestResult]:
    folder = tmp_path / label
    folder.mkdir()
    (folder / "attention.py").write_text(source)
    result = grading.grade(ATTENTION, folder, seed=7, threads=1, keyword=SPEED_TESTS)
    return {t.name: t for t in result.tests}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("speed")
    fast_wrong = variant_source("reference").replace(
        "    return weights @ v, weights\n",
        "    if q.dim() == 4 and q.shape[1] == 64:  # the speed test's shape: skip the work\n"
        "        return torch.zeros_like(q), weights\n"
        "    return weights @ v, weights\n", 1)
    return {label: grade_speed(tmp, source, label) for label, source in [
        ("reference", variant_source("reference")),
        ("loop", variant_source("sdpa_loop_over_heads")),
        ("fast_wrong", fast_wrong),
        ("slow_once", slowed(13)),
        ("slow_always", slowed(10**6)),
    ]}


def test_reference_passes_its_speed_and_memory_tests(graded):
    tests = graded["reference"]
    for name in ("test_speed_sdpa", "test_memory_chunked"):
        assert tests[name].status == "passed" and tests[name].score == tests[name].max_score > 0, tests[name]
        assert "the reference's" in tests[name].message  # the measured ratio is reported


def test_gpu_tests_are_not_run_here_and_cost_nothing(graded):
    if has_gpu():
        pytest.skip("this machine has a GPU: test_gpu_tests_grade_on_the_gpu applies")
    for name in GPU_TESTS:
        gpu = graded["reference"][name]
        assert gpu.status == "skipped" and gpu.message.startswith(rules.NO_GPU) and gpu.max_score == 0
    assert sum(t.score for t in graded["reference"].values()) == pytest.approx(10)


def test_gpu_tests_grade_on_the_gpu(graded):
    """Runs only where CUDA is present (the project's GPU check, benchmarks/gpu_check.sh): the
    reference passes both CUDA tests; the loop over heads fails the CUDA speed test."""
    if not has_gpu():
        pytest.skip("no GPU here")
    for name in GPU_TESTS:
        t = graded["reference"][name]
        assert t.status == "passed" and t.score == t.max_score > 0 and "on the GPU" in t.message, t
    assert graded["loop"]["test_speed_sdpa_gpu"].status == "failed"
    assert graded["fast_wrong"]["test_speed_sdpa_gpu"].score == 0


def test_loop_over_heads_fails_the_speed_test(graded):
    speed = graded["loop"]["test_speed_sdpa"]
    assert speed.status == "failed" and speed.score == 0, speed
    assert "x the reference's time" in speed.message or "did not finish in time" in speed.message
    assert graded["loop"]["test_memory_chunked"].status == "passed"  # the memory test is about part 5 only


def test_a_loss_is_measured_again_and_the_best_measurement_counts(graded):
    once, always = graded["slow_once"]["test_speed_sdpa"], graded["slow_always"]["test_speed_sdpa"]
    assert once.status == "passed" and once.score == once.max_score, once
    assert "the best of 2 measurements" in once.message, once.message
    assert always.score < always.max_score and "the best of 3 measurements" in always.message, always.message
    # far beyond the limit nothing is measured again
    assert "best of" not in graded["loop"]["test_speed_sdpa"].message


def test_fast_wrong_answer_earns_nothing(graded):
    speed = graded["fast_wrong"]["test_speed_sdpa"]
    assert speed.status == "failed" and speed.score == 0
    assert "differ" in speed.message and "speed test" in speed.message


def test_bench_tables_the_reference_and_the_naive_mutant():
    """`adl bench`, restricted to one speed test and one mutant (one round each): a row per
    variant, the reference near 1x, the loop over heads slower and counted as failing."""
    from autograder.speed import bench

    rows = bench.run(ATTENTION, rounds=1, repeats=3, threads=1, only=["reference", "sdpa_loop_over_heads"],
                     tests=["test_speed_sdpa"])
    by_variant = {r.variant: r for r in rows}
    assert set(by_variant) == {"reference", "sdpa_loop_over_heads"}
    assert all(r.test == "test_speed_sdpa" and not r.error and len(r.ratios) == 1 for r in rows), rows
    assert by_variant["sdpa_loop_over_heads"].ratios[0] > by_variant["reference"].ratios[0]
    assert by_variant["sdpa_loop_over_heads"].failures == 1
    from rich.console import Console
    console = Console(record=True, width=200)
    console.print(bench.table(rows, 1, "attention"))
    assert "sdpa_loop_over_heads" in console.export_text()


# ---------------------------------------------------------------------------- the other side is frozen

SPINNER = '''
import subprocess, threading, time

CHILD = subprocess.Popen(["sleep", "60"])  # a process of its own: it must be frozen too
state = {"n": 0}

def _spin():
    while True:
        state["n"] += 1

threading.Thread(target=_spin, daemon=True).start()

def busy(seconds):
    start, end = time.thread_time(), time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
    return time.thread_time() - start  # the CPU time this call used
'''


def _states(pids):
    out = {}
    for pid in pids:
        try:
            out[pid] = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            pass
    return out


def test_a_frozen_worker_and_everything_it_started_stop_using_the_cpu(tmp_path):
    """While one side is measured, the other worker (its threads and child processes included)
    is stopped, so a student's background work cannot slow the reference down."""
    from autograder import remote, sandbox
    from autograder.speed import measure

    (tmp_path / "spinner.py").write_text(SPINNER)
    worker = remote.Worker(tmp_path, "spinner", [], sandbox.Limits())
    worker.start()
    try:
        assert worker.request({"op": "call", "target": "busy"}, "busy()", (0.01,)) >= 0
        pids = measure._processes(worker)
        assert len(pids) >= 2  # the worker and its `sleep` child (and bwrap's own processes)
        with measure.frozen(worker):
            states = _states(pids)
            frozen_cpu0 = measure.cpu_seconds(worker)
            time.sleep(0.3)
            frozen_cpu1 = measure.cpu_seconds(worker)
        assert set(states.values()) == {"T"}, states
        assert frozen_cpu1 - frozen_cpu0 < 0.01  # the spinning thread got no CPU while frozen
        assert "T" not in _states(pids).values()  # and everything runs again afterwards
        before = measure.cpu_seconds(worker)
        used = worker.request({"op": "call", "target": "busy"}, "busy()", (0.2,))
        assert used > 0.01 and measure.cpu_seconds(worker) - before >= used - 0.005  # the clock sees the work
    finally:
        worker.stop()
