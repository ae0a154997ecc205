#!/usr/bin/env python3
"""Two small prediction logs and what Evidently 0.7 and scipy say about their drift, per window.

Run at development time only (Evidently, pandas, numpy and scipy importable):
    python3 scripts/oracles/drift_logs.py tests/fixtures/drift
It writes reference.csv, current.csv (with a time column over 4 days, a simulated shift on the last
two: older people, longer hours, a new workclass, more missing values) and evidently.json. The logs are
synthetic (a congruential sequence, no randomness), made for the test; they are not real data.
"""
import json
import math
import os
import sys

import numpy as np
import pandas as pd
import scipy
from scipy import stats

import evidently
from evidently.legacy.calculations.stattests.chisquare_stattest import _chi_stat_test
from evidently.legacy.calculations.stattests.jensenshannon import _jensenshannon
from evidently.legacy.calculations.stattests.psi import _psi
from evidently.legacy.calculations.stattests.wasserstein_distance_norm import _wasserstein_distance_norm
from evidently.legacy.core import ColumnType

M = 2147483647
WORK = ["Private", "Self-emp", "Gov", "?"]


def u(i, salt):
    return ((i + 1) * 2654435761 + salt * 40503) % M / M


def rows(n, start_day, days, salt, shifted_from=None):
    out = []
    for i in range(n):
        day = start_day + (i * days) // n
        shifted = shifted_from is not None and day >= shifted_from
        age = 18 + math.floor(u(i, salt) * 50) + (8 if shifted else 0)
        hours = round(20 + 40 * u(i, salt + 1) + (6.5 if shifted else 0.0), 3)
        score = round(u(i, salt + 2) ** (0.7 if shifted else 1.0), 6)
        w = WORK[math.floor(u(i, salt + 3) * 4)]
        if shifted and u(i, salt + 4) < 0.15:
            w = "Without-pay"
        if u(i, salt + 5) < (0.08 if shifted else 0.02):
            hours = None
        pred = 1 if score >= 0.5 else 0
        ts = f"2026-11-{day:02d}T{(i * 7) % 24:02d}:00:00Z"
        out.append({"time": ts, "age": age, "hours": hours, "score": score, "workclass": w, "prediction": pred})
    return pd.DataFrame(out)


def expected(ref, cur):
    cols = {}
    for c in ["age", "hours", "score"]:
        r, k = ref[c].dropna().astype(float), cur[c].dropna().astype(float)
        ks = stats.ks_2samp(r, k)
        cols[c] = {
            "kind": "numerical",
            "ks_statistic": float(ks.statistic),
            "ks_p_value": float(ks.pvalue),
            "wasserstein": float(stats.wasserstein_distance(r, k)),
            "wasserstein_normed": float(_wasserstein_distance_norm(r, k, ColumnType.Numerical, 0.1)[0]),
            "psi": float(_psi(r, k, ColumnType.Numerical, 0.1)[0]),
            "jensen_shannon": float(_jensenshannon(r, k, ColumnType.Numerical, 0.1)[0]),
            "reference_missing": int(ref[c].isna().sum()),
            "current_missing": int(cur[c].isna().sum()),
        }
    for c in ["workclass", "prediction"]:
        r, k = ref[c].astype(str), cur[c].astype(str)
        keys = sorted(set(r) | set(k))
        f_obs = [int((k == x).sum()) for x in keys]
        f_exp = [int((r == x).sum()) * len(k) / len(r) for x in keys]
        with np.errstate(divide="ignore", invalid="ignore"):
            chi = stats.chisquare(f_obs, f_exp)
        cols[c] = {
            "kind": "categorical",
            "chi_square": float(chi.statistic) if math.isfinite(chi.statistic) else "inf",
            "chi_square_p": float(_chi_stat_test(r, k, ColumnType.Categorical, 0.05)[0]),
            "psi": float(_psi(r, k, ColumnType.Categorical, 0.1)[0]),
            "jensen_shannon": float(_jensenshannon(r, k, ColumnType.Categorical, 0.1)[0]),
            "new_categories": sorted(set(k) - set(r)),
        }
    return cols


def main(out_dir):
    ref = rows(1500, 1, 3, 1)
    cur = rows(2400, 4, 4, 7, shifted_from=6)
    ref.to_csv(os.path.join(out_dir, "reference.csv"), index=False)
    cur.to_csv(os.path.join(out_dir, "current.csv"), index=False)
    days = cur["time"].str[:10]
    windows = {"all": expected(ref, cur)}
    for d in sorted(days.unique()):
        windows[d] = expected(ref, cur[days == d])
    json.dump({
        "made_by": "scripts/oracles/drift_logs.py",
        "evidently": evidently.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "windows": windows,
    }, open(os.path.join(out_dir, "evidently.json"), "w"), indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
