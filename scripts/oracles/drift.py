#!/usr/bin/env python3
"""Expected values for Steward's drift statistics, from scipy (and Evidently when installed).

Run at development time only; the tests read the JSON this writes and need no Python:
    python3 scripts/oracles/drift.py > tests/fixtures/drift/scipy.json
with numpy and scipy importable (the MLflow venv of scripts/stack has both).

Samples are described by a recipe, not stored, so that large ones cost nothing in git; the Rust test
regenerates them with the same integer arithmetic (tests/drift_oracle.rs, `sample`).
"""
import json
import math
import sys

import numpy as np
import scipy
from scipy import special, stats
from scipy.spatial.distance import jensenshannon

M = 2147483647  # 2^31 - 1


def sample(n, seed, shift=0.0, scale=1.0, shape="uniform", round_to=None):
    """n values from a multiplicative congruential sequence (exact in integers, so Rust matches)."""
    out = []
    for i in range(n):
        u = ((i + 1) * 2654435761 + seed * 40503) % M / M
        if shape == "triangle":
            v = ((i + 1) * 2246822519 + seed * 40503) % M / M
            u = (u + v) / 2.0
        x = shift + scale * u
        if round_to is not None:
            x = math.floor(x * round_to) / round_to
        out.append(x)
    return np.array(out)


def recipe(r):
    return sample(r["n"], r["seed"], r.get("shift", 0.0), r.get("scale", 1.0), r.get("shape", "uniform"), r.get("round_to"))


cases = []
pairs = [
    # (reference recipe, current recipe, what it exercises)
    ({"n": 50, "seed": 1}, {"n": 50, "seed": 2, "shift": 0.2}, "exact, equal sizes"),
    ({"n": 37, "seed": 3}, {"n": 91, "seed": 4, "shift": 0.1}, "exact, unequal sizes"),
    ({"n": 300, "seed": 5, "scale": 5.0, "round_to": 1}, {"n": 200, "seed": 6, "scale": 5.0, "round_to": 1}, "exact, heavy ties"),
    ({"n": 2000, "seed": 7, "shape": "triangle"}, {"n": 3000, "seed": 8, "shape": "triangle", "shift": 0.02}, "exact, larger"),
    ({"n": 40, "seed": 9, "scale": 0.0, "shift": 3.0}, {"n": 40, "seed": 10, "scale": 0.0, "shift": 3.0}, "constant, identical"),
    ({"n": 40, "seed": 9, "scale": 0.0, "shift": 3.0}, {"n": 60, "seed": 10, "shift": 2.5}, "constant reference"),
    ({"n": 12000, "seed": 11, "shape": "triangle"}, {"n": 15000, "seed": 12, "shape": "triangle", "shift": 0.01}, "asymptotic, small shift"),
    ({"n": 20000, "seed": 13}, {"n": 30000, "seed": 14, "shift": 0.05}, "asymptotic, clear shift"),
    ({"n": 10001, "seed": 15}, {"n": 60, "seed": 16, "shift": 0.05}, "asymptotic, n about 60"),
    ({"n": 10001, "seed": 17}, {"n": 120, "seed": 18, "shift": 0.15}, "asymptotic, n about 120"),
    ({"n": 10001, "seed": 19}, {"n": 30, "seed": 20, "shift": 0.6}, "asymptotic, n about 30, far"),
    ({"n": 200000, "seed": 21, "shape": "triangle"}, {"n": 250000, "seed": 22, "shape": "triangle", "shift": 0.001}, "asymptotic, n > 100000"),
    ({"n": 50000, "seed": 23, "scale": 100.0, "round_to": 1}, {"n": 60000, "seed": 24, "scale": 100.0, "round_to": 1, "shift": 1.0}, "asymptotic, ties"),
]
for ref_r, cur_r, what in pairs:
    ref, cur = recipe(ref_r), recipe(cur_r)
    ks = stats.ks_2samp(ref, cur)
    wd = stats.wasserstein_distance(ref, cur)
    cases.append({
        "what": what,
        "reference": ref_r,
        "current": cur_r,
        "ks_statistic": float(ks.statistic),
        "ks_p_value": float(ks.pvalue),
        "wasserstein": float(wd),
        "wasserstein_normed": float(wd / max(np.std(ref), 0.001)),
    })

# The one-sample two-sided distribution directly, over every branch of scipy's kstwo.sf.
kstwo = []
for n in [1, 2, 3, 5, 10, 30, 60, 100, 139, 140, 141, 500, 1000, 5000, 50000, 99999, 150000, 2000000]:
    for x in [0.0004, 0.001, 0.003, 0.01, 0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.45, 0.5, 0.6, 0.8, 0.95]:
        kstwo.append({"n": n, "x": x, "sf": float(stats.kstwo.sf(x, n))})

smirnov = []
for n in [2, 5, 20, 141, 1000, 100000, 2000000]:
    for x in [0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9]:
        smirnov.append({"n": n, "x": x, "sf": float(special.smirnov(n, x))})

# Categorical: chi-square (current against reference shares), Jensen-Shannon over the shares.
categorical = []
for ref_counts, cur_counts, what in [
    ([50, 30, 20], [45, 35, 20], "three categories"),
    ([500, 300, 200, 0], [400, 300, 200, 100], "a category only in current"),
    ([1, 1], [1, 1], "tiny, identical"),
    ([10000, 5000, 2500, 1250, 625], [9000, 5500, 2600, 1400, 700], "five categories"),
    ([7, 0, 3], [0, 5, 5], "empty bins on both sides"),
]:
    k = sum(cur_counts) / sum(ref_counts)
    expected = [c * k for c in ref_counts]
    with np.errstate(divide="ignore", invalid="ignore"):
        try:
            chi = stats.chisquare(cur_counts, expected)
            chi_stat, chi_p = float(chi.statistic), float(chi.pvalue)
        except ValueError:
            chi_stat, chi_p = None, None
    categorical.append({
        "what": what,
        "reference": ref_counts,
        "current": cur_counts,
        "chi_square": None if chi_stat is None or math.isnan(chi_stat) else (chi_stat if math.isfinite(chi_stat) else "inf"),
        "chi_square_p": chi_p if chi_p is None or math.isfinite(chi_p) else None,
        "jensen_shannon_raw": float(jensenshannon(ref_counts, cur_counts)),
    })

chi2 = []
for dof in [1, 2, 3, 7, 20, 100, 1000]:
    for x in [0.001, 0.5, 1.0, 3.0, 10.0, 50.0, 200.0, 1500.0]:
        chi2.append({"dof": dof, "x": x, "sf": float(stats.chi2.sf(x, dof))})

out = {
    "made_by": "scripts/oracles/drift.py",
    "numpy": np.__version__,
    "scipy": scipy.__version__,
    "pairs": cases,
    "kstwo_sf": kstwo,
    "smirnov_sf": smirnov,
    "categorical": categorical,
    "chi2_sf": chi2,
}
json.dump(out, sys.stdout, indent=1)
print()
