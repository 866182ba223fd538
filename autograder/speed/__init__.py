"""Speed and memory tests: a student's call measured against the reference's, from the
trusted side, both in sandboxed workers (see docs/authoring.md, "Speed and memory tests").

* `rules`   — the manifest's `[[speed]]` entries: limits, bands, repeats;
* `measure` — the measurement: paired, interleaved round trips, the idle worker frozen;
* `fixture` — the `speed` object hidden tests use;
* `bench`   — `adl bench SLUG`, the calibration table.
"""
