#!/usr/bin/env python3
"""A prediction log, a late label log, and the quality per (version, day) that scikit-learn and
statsmodels compute for them, for tests/quality_cli.rs.

Run at development time only (pandas, scikit-learn, statsmodels importable):
    python3 scripts/oracles/quality.py tests/fixtures/quality
Synthetic data (a congruential sequence): 3 days x 2 versions; the label log misses 15% of the ids,
labels 25 ids twice (the earlier label wrong, the later one right: the latest labelled-at wins), and
has 10 ids that no prediction has.
"""
import json
import math
import os
import sys

import pandas as pd
import sklearn
import statsmodels
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score
from statsmodels.stats.proportion import proportion_confint

M = 2147483647
Z = 1.959963984540054


def u(i, salt):
    return ((i + 1) * 2654435761 + salt * 40503) % M / M


def main(out):
    preds, labels = [], []
    for i in range(1200):
        day = 1 + i // 400
        version = "1" if i % 2 == 0 else "2"
        truth = 1 if u(i, 1) < 0.4 else 0
        # v2 is better; both decay on day 3.
        noise = 0.35 if version == "1" else 0.25
        if day == 3:
            noise += 0.15
        score = round(min(1.0, max(0.0, truth * 0.5 + 0.25 + (u(i, 2) - 0.5) * 2 * noise + (0.1 if u(i, 5) < 0.05 else 0))), 4)
        pred = 1 if score >= 0.5 else 0
        rid = f"r{i:05d}"
        preds.append({"request_id": rid, "time": f"2026-11-{day:02d}T{(i * 5) % 24:02d}:30:00Z", "model_version": version, "score": score, "prediction": pred})
        if u(i, 3) < 0.15:
            continue  # never labelled
        at = f"2026-11-{day + 2:02d}T10:00:00Z"
        if i % 48 == 0:
            labels.append({"id": rid, "label": 1 - truth, "labelled_at": f"2026-11-{day + 1:02d}T09:00:00Z"})
        labels.append({"id": rid, "label": truth, "labelled_at": at})
    for k in range(10):
        labels.append({"id": f"x{k}", "label": 1, "labelled_at": "2026-11-05T00:00:00Z"})
    # Shuffle the label log deterministically (labels arrive out of order).
    labels = [labels[(j * 7919) % len(labels)] for j in range(len(labels))] if math.gcd(7919, len(labels)) == 1 else labels
    p, l = pd.DataFrame(preds), pd.DataFrame(labels)
    p.to_csv(os.path.join(out, "predictions.csv"), index=False)
    l.to_csv(os.path.join(out, "labels.csv"), index=False)

    latest = l.sort_values("labelled_at").drop_duplicates("id", keep="last")
    joined = p.merge(latest, left_on="request_id", right_on="id", how="left")
    joined["day"] = joined["time"].str[:10]
    windows = []
    for (v, d), g in joined.groupby(["model_version", "day"]):
        lab = g.dropna(subset=["label"])
        y, yhat, s = lab["label"].astype(int), lab["prediction"].astype(int), lab["score"].astype(float)
        n = len(lab)
        tp = int(((y == 1) & (yhat == 1)).sum())
        fp = int(((y == 0) & (yhat == 1)).sum())
        fn = int(((y == 1) & (yhat == 0)).sum())

        def wil(k, m):
            lo, hi = proportion_confint(k, m, alpha=0.05, method="wilson")
            return [k / m, float(lo), float(hi)]

        auc = float(roc_auc_score(y, s))
        q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
        n1, n2 = int((y == 1).sum()), int((y == 0).sum())
        se = math.sqrt((auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n2 - 1) * (q2 - auc**2)) / (n1 * n2))
        f1 = float(f1_score(y, yhat))
        pa, pb, pc = tp / n, fp / n, fn / n
        S = 2 * pa + pb + pc
        ga, gb = 2 * (pb + pc) / S**2, -2 * pa / S**2
        se_f1 = math.sqrt((ga * ga * pa + gb * gb * pb + gb * gb * pc) / n)
        windows.append({
            "version": str(v), "window": d, "rows": int(len(g)), "labelled": n,
            "accuracy": [float(accuracy_score(y, yhat))] + wil(tp + int(((y == 0) & (yhat == 0)).sum()), n)[1:],
            "precision": [float(precision_score(y, yhat))] + wil(tp, tp + fp)[1:],
            "recall": [float(recall_score(y, yhat))] + wil(tp, tp + fn)[1:],
            "f1": [f1, max(0.0, f1 - Z * se_f1), min(1.0, f1 + Z * se_f1)],
            "roc_auc": [auc, max(0.0, auc - Z * se), min(1.0, auc + Z * se)],
            "labelled_share": wil(n, len(g)),
        })
    dup = int(l.duplicated("id").sum())
    unknown = int((~l["id"].isin(p["request_id"])).sum())
    without = int((~p["request_id"].isin(l["id"])).sum())
    json.dump({
        "made_by": "scripts/oracles/quality.py",
        "sklearn": sklearn.__version__, "statsmodels": statsmodels.__version__,
        "join": {"label_rows": len(l), "duplicate_label_ids": dup, "labels_for_unknown_ids": unknown, "predictions_without_label": without},
        "windows": windows,
    }, open(os.path.join(out, "expected.json"), "w"), indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
