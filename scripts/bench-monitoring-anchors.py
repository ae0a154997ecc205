"""The anchors of scripts/bench-monitoring: polars (+ scipy/numpy for the statistics) and Evidently 0.7
(pandas) computing the drift and quality `steward drift` and `steward quality` compute, on one log.

usage: bench-monitoring-anchors.py generate N OUT | polars LOG | evidently LOG | compare STEWARD_DRIFT
       STEWARD_QUALITY ANCHOR_JSON...

The task (the same for the three):
  drift   reference = the rows of the log's first 7 UTC days, current = the rest (one window); per
          feature column and the score: numerical: KS statistic and p-value (scipy's ks_2samp),
          Wasserstein and normed Wasserstein (/ max(std_ref, 0.001), Evidently), PSI and Jensen-Shannon
          on Evidently's bins (sturges edges over both samples above 20 distinct values, else one per value); categorical: chi-square p-value
          (Evidently's: expected = reference counts scaled to the current size), Jensen-Shannon, PSI.
  quality per model version and ISO week of prediction time: accuracy, precision, recall, F1, ROC AUC.
Each mode prints JSON {"drift": {col: {stat: value}}, "quality": {"v|week": {metric: value}}}.

The log is synthetic (seeded numpy, not real data): timestamp over 30 days, model_version 1/2, label,
prediction, score (4 decimals), 6 numerical features (integers, Adult-like ranges) and 4 categorical
ones, with a shift in the last 7 days (older, longer hours, more self-employed).
"""
import json
import math
import sys

NUMERICAL = ["age", "education_num", "hours_per_week", "capital_gain", "capital_loss", "tenure_days"]
CATEGORICAL = ["workclass", "occupation", "marital_status", "native_country"]
START = 1_790_812_800  # 2026-10-01T00:00:00Z
DAYS = 30


def generate(n, out):
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(20261130)
    i = np.arange(n, dtype=np.int64)
    t = START + (i * DAYS * 86400) // n
    shifted = t >= START + (DAYS - 7) * 86400
    age = np.clip(np.round(rng.normal(38, 13, n) + 5 * shifted), 17, 90).astype(np.int64)
    edu = rng.integers(1, 17, n)
    hours = np.clip(np.round(rng.normal(40, 12, n) + 3 * shifted), 1, 99).astype(np.int64)
    gains = rng.choice(np.arange(0, 100_000, 997), n)
    gain = np.where(rng.random(n) < 0.08, gains, 0)
    loss = np.where(rng.random(n) < 0.05, rng.choice(np.arange(0, 4_400, 61), n), 0)
    tenure = rng.integers(0, 3651, n)
    wc_names = np.array(["Private", "Self-emp-not-inc", "Self-emp-inc", "Local-gov", "State-gov", "Federal-gov", "Without-pay", "?"])
    wc_p = np.array([0.70, 0.08, 0.035, 0.065, 0.04, 0.03, 0.005, 0.045])
    wc_shift = np.array([0.60, 0.15, 0.07, 0.06, 0.04, 0.03, 0.005, 0.045])
    wc = np.where(shifted, rng.choice(8, n, p=wc_shift), rng.choice(8, n, p=wc_p))
    occ = rng.integers(0, 14, n)
    mar = rng.choice(7, n, p=[0.46, 0.33, 0.14, 0.03, 0.03, 0.007, 0.003])
    nat = np.minimum(rng.geometric(0.35, n) - 1, 39)
    z = -6.0 + 0.05 * age + 0.3 * edu + 0.03 * hours + 0.00004 * gain + 1.2 * (mar == 0) + rng.normal(0, 1.0, n)
    p = 1.0 / (1.0 + np.exp(-z))
    label = (rng.random(n) < p).astype(np.int64)
    version = (i % 2) + 1
    noise = np.where(version == 1, 1.2, 0.6)
    score = np.round(1.0 / (1.0 + np.exp(-(z + rng.normal(0, noise, n)))), 4)
    prediction = (score >= 0.5).astype(np.int64)
    ts = pl.from_epoch(pl.Series(t), time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    df = pl.DataFrame({
        "timestamp": ts,
        "model_version": version,
        "label": label,
        "prediction": prediction,
        "score": score,
        "age": age,
        "education_num": edu,
        "hours_per_week": hours,
        "capital_gain": gain,
        "capital_loss": loss,
        "tenure_days": tenure,
        "workclass": wc_names[wc],
        "occupation": pl.Series([f"occ-{k:02d}" for k in range(14)])[occ],
        "marital_status": pl.Series(["Married-civ-spouse", "Never-married", "Divorced", "Separated", "Widowed", "Married-spouse-absent", "Married-AF-spouse"])[mar],
        "native_country": pl.Series([f"country-{k:02d}" for k in range(40)])[nat],
    })
    df.write_csv(out, float_precision=4)


def fill_zeros(shares):
    """Evidently's filling of empty bins (get_binned_data, feel_zeroes=True): the smallest non-zero share
    / 1e6 when that share is <= 0.0001, else 0.0001."""
    import numpy as np

    low = shares[shares != 0].min()
    return np.where(shares == 0, low / 1e6 if low <= 0.0001 else 0.0001, shares)


def binned(r, c, fill):
    """Evidently's binning of a numerical column: with more than 20 distinct reference values, sturges
    edges over both samples; else one bin per value; shares per bin, empty ones filled for PSI."""
    import numpy as np

    if len(np.unique(r)) > 20:
        edges = np.histogram_bin_edges(np.concatenate([r, c]), bins="sturges")
        rs = np.histogram(r, edges)[0] / len(r)
        cs = np.histogram(c, edges)[0] / len(c)
    else:
        keys = np.union1d(np.unique(r), np.unique(c))
        rs = np.array([np.count_nonzero(r == k) for k in keys]) / len(r)
        cs = np.array([np.count_nonzero(c == k) for k in keys]) / len(c)
    return (fill_zeros(rs), fill_zeros(cs)) if fill else (rs, cs)


def psi(rs, cs):
    import numpy as np

    return float(np.sum((rs - cs) * np.log(rs / cs)))


def drift_stats(ref, cur):
    """`ref`, `cur`: dicts column -> numpy array (numerical) or polars value-count dicts (categorical)."""
    import numpy as np
    from scipy import stats
    from scipy.spatial import distance

    out = {}
    for col in NUMERICAL + ["score"]:
        r, c = ref[col], cur[col]
        ks = stats.ks_2samp(r, c)
        w = stats.wasserstein_distance(r, c)
        out[col] = {
            "ks_statistic": float(ks.statistic),
            "ks_p_value": float(ks.pvalue),
            "wasserstein": float(w),
            "wasserstein_normed": float(w / max(np.std(r), 0.001)),
            "psi": psi(*binned(r, c, True)),
            "jensen_shannon": float(distance.jensenshannon(*binned(r, c, False))),
        }
    for col in CATEGORICAL:
        rc, cc = ref[col], cur[col]
        keys = sorted(set(rc) | set(cc))
        nr, nc = sum(rc.values()), sum(cc.values())
        f_obs = np.array([cc.get(k, 0) for k in keys], dtype=float)
        f_exp = np.array([rc.get(k, 0) * nc / nr for k in keys])
        rs, cs = np.array([rc.get(k, 0) / nr for k in keys]), np.array([cc.get(k, 0) / nc for k in keys])
        out[col] = {
            "chi_square_p": float(stats.chisquare(f_obs, f_exp).pvalue),
            "jensen_shannon": float(distance.jensenshannon(rs, cs)),
            "psi": psi(fill_zeros(rs), fill_zeros(cs)),
        }
    return out


def polars_run(path):
    import polars as pl

    df = pl.read_csv(path)
    t = pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC")
    df = df.with_columns(t.dt.date().alias("day"), t.dt.strftime("%G-W%V").alias("week"))
    first = df["day"].min()
    is_ref = pl.col("day") < pl.lit(first) + pl.duration(days=7)
    ref_df, cur_df = df.filter(is_ref), df.filter(~is_ref)

    def side(d):
        s = {c: d[c].to_numpy().astype(float) for c in NUMERICAL + ["score"]}
        for c in CATEGORICAL:
            vc = d[c].value_counts()
            s[c] = dict(zip(vc[c].to_list(), vc["count"].to_list()))
        return s

    drift = drift_stats(side(ref_df), side(cur_df))
    y, p = pl.col("label") == 1, pl.col("prediction") == 1
    rank = pl.col("score").rank("average").over(["model_version", "week"])
    g = (
        df.with_columns(rank.alias("rank"))
        .group_by(["model_version", "week"])
        .agg(
            tp=(y & p).sum(),
            fp=(~y & p).sum(),
            fn=(y & ~p).sum(),
            tn=(~y & ~p).sum(),
            rank_pos=pl.col("rank").filter(y).sum(),
        )
        .sort(["model_version", "week"])
    )
    quality = {}
    for r in g.to_dicts():
        tp, fp, fn, tn = r["tp"], r["fp"], r["fn"], r["tn"]
        n1, n0 = tp + fn, fp + tn
        prec, rec = tp / (tp + fp), tp / (tp + fn)
        quality[f"{r['model_version']}|{r['week']}"] = {
            "accuracy": (tp + tn) / (tp + fp + fn + tn),
            "precision": prec,
            "recall": rec,
            "f1": 2 * prec * rec / (prec + rec),
            "roc_auc": (r["rank_pos"] - n1 * (n1 + 1) / 2) / (n1 * n0),
        }
    return {"drift": drift, "quality": quality}


def evidently_run(path):
    import pandas as pd
    from evidently import BinaryClassification, DataDefinition, Dataset, Report
    from evidently.metrics import Accuracy, F1Score, Precision, Recall, RocAuc, ValueDrift

    df = pd.read_csv(path)
    ts = pd.to_datetime(df["timestamp"], utc=True)
    day = ts.dt.floor("D")
    ref, cur = df[day < day.min() + pd.Timedelta(days=7)], df[day >= day.min() + pd.Timedelta(days=7)]
    methods = {c: ["ks", "wasserstein", "psi", "jensenshannon"] for c in NUMERICAL + ["score"]}
    methods.update({c: ["chisquare", "jensenshannon", "psi"] for c in CATEGORICAL})
    cols = NUMERICAL + ["score"] + CATEGORICAL
    definition = DataDefinition(numerical_columns=NUMERICAL + ["score"], categorical_columns=CATEGORICAL)
    metrics = [ValueDrift(column=c, method=m) for c in cols for m in methods[c]]
    snap = Report(metrics).run(Dataset.from_pandas(cur[cols], data_definition=definition), Dataset.from_pandas(ref[cols], data_definition=definition))
    drift = {}
    for res in snap.dict()["metrics"]:
        cfg = res["config"]
        name = {"ks": "ks_p_value", "wasserstein": "wasserstein_normed", "psi": "psi", "jensenshannon": "jensen_shannon", "chisquare": "chi_square_p"}[cfg["method"]]
        drift.setdefault(cfg["column"], {})[name] = float(res["value"])
    week = ts.dt.strftime("%G-W%V")
    quality = {}
    cls = DataDefinition(
        classification=[BinaryClassification(target="label", prediction_labels="prediction", prediction_probas="score")],
        numerical_columns=["score"],
    )
    for (v, w), part in df[["label", "prediction", "score"]].groupby([df["model_version"], week]):
        snap = Report([Accuracy(), Precision(), Recall(), F1Score(), RocAuc()]).run(Dataset.from_pandas(part, data_definition=cls), None)
        names = ["accuracy", "precision", "recall", "f1", "roc_auc"]
        quality[f"{v}|{w}"] = {n: float(m["value"]) for n, m in zip(names, snap.dict()["metrics"])}
    return {"drift": drift, "quality": quality}


def compare(drift_path, quality_path, anchors):
    """Largest relative difference between Steward's numbers and each anchor's, per statistic."""
    d = json.load(open(drift_path))
    q = json.load(open(quality_path))
    ours = {"drift": {}, "quality": {}}
    for c in d["windows"][-1]["columns"]:
        s = ours["drift"].setdefault(c["column"], {})
        for k in ["ks_statistic", "ks_p_value", "wasserstein", "wasserstein_normed", "psi", "jensen_shannon"]:
            if c.get(k) is not None:
                s[k] = c[k]
        if c.get("chi_square"):
            s["chi_square_p"] = c["chi_square"]["p_value"]
    for w in q["windows"]:
        ours["quality"][f"{w['version']}|{w['window']}"] = {m: w[m]["value"] for m in ["accuracy", "precision", "recall", "f1", "roc_auc"] if w.get(m)}
    report = {}
    for path in anchors:
        theirs = json.load(open(path))
        worst = {}
        for part in ["drift", "quality"]:
            for key, stats_ in theirs[part].items():
                for stat, v in stats_.items():
                    o = ours[part].get(key, {}).get(stat)
                    if o is None:
                        worst[f"{part}.{stat}"] = max(worst.get(f"{part}.{stat}", 0.0), math.inf)
                        continue
                    rel = abs(o - v) / max(abs(v), 1e-300) if v != 0 else abs(o)
                    worst[f"{part}.{stat}"] = max(worst.get(f"{part}.{stat}", 0.0), rel)
        report[path] = worst
    print(json.dumps(report, indent=1, sort_keys=True))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "generate":
        generate(int(sys.argv[2]), sys.argv[3])
    elif mode == "polars":
        print(json.dumps(polars_run(sys.argv[2])))
    elif mode == "evidently":
        print(json.dumps(evidently_run(sys.argv[2])))
    elif mode == "compare":
        compare(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(__doc__)
