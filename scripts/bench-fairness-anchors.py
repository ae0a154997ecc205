"""The anchors of scripts/bench-fairness: polars and pandas + Fairlearn on the same log.

usage: bench-fairness-anchors.py polars-csv|polars-parquet|fairlearn|to-parquet FILE [OUT]
Prints confusion counts by group as JSON ({"g0": [tp, fp, tn, fn], ...}) so the runs can be compared.
"""
import json
import sys


def polars_counts(mode, path):
    import polars as pl

    lf = pl.scan_csv(path) if mode == "polars-csv" else pl.scan_parquet(path)
    y = pl.col("label") == 1
    p = pl.col("prediction") == 1
    df = (
        lf.group_by("group")
        .agg(
            tp=(y & p).sum(),
            fp=(~y & p).sum(),
            tn=(~y & ~p).sum(),
            fn=(y & ~p).sum(),
        )
        .sort("group")
        .collect()
    )
    return {r["group"]: [r["tp"], r["fp"], r["tn"], r["fn"]] for r in df.to_dicts()}


def fairlearn_counts(path):
    import pandas as pd
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    df = pd.read_csv(path)
    mf = MetricFrame(
        metrics={
            "count": count,
            "selection_rate": selection_rate,
            "false_positive_rate": false_positive_rate,
            "false_negative_rate": false_negative_rate,
            "true_positive_rate": true_positive_rate,
            "precision": precision_score,
            "accuracy": accuracy_score,
        },
        y_true=df["label"],
        y_pred=df["prediction"],
        sensitive_features=df["group"],
    )
    out = {}
    for g, row in mf.by_group.iterrows():
        n = int(row["count"])
        pos = round(n * row["selection_rate"])
        # tp from selection rate and precision; the rest from rates (for the agreement check only)
        tp = round(pos * row["precision"])
        fp = pos - tp
        fn = round(tp / row["true_positive_rate"]) - tp if row["true_positive_rate"] > 0 else 0
        tn = n - tp - fp - fn
        out[str(g)] = [tp, fp, tn, fn]
    return out


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "to-parquet":
        import polars as pl

        pl.scan_csv(path).sink_parquet(sys.argv[3], compression="zstd")
        return
    if mode in ("polars-csv", "polars-parquet"):
        counts = polars_counts(mode, path)
    elif mode == "fairlearn":
        counts = fairlearn_counts(path)
    else:
        sys.exit(f"unknown mode {mode}")
    print(json.dumps(counts, sort_keys=True))


if __name__ == "__main__":
    main()
