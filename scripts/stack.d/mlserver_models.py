"""Train income-classifier v1 and v2 (MLServer venv) and lay out MLServer model folders.

Writes, under --out: income-classifier-v{1,2}/{model.joblib,model-settings.json} and trained.json (metrics);
under --examples: infer-example-v{1,2}.json (OIP v2 request bodies) and infer-example-v{1,2}.expected.json.
"""

import argparse
import json
import os
import sys

import joblib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adult  # noqa: E402

SERVED = ["1", "2"]


def example_rows(p1, p2):
    """Held-out rows where (v1, v2) predict (1,1), (0,1), (0,0), (1,0): the two versions visibly differ."""
    picked = []
    for want in ((1, 1), (0, 1), (0, 0), (1, 0)):
        for i in range(len(p1)):
            if (int(p1[i]), int(p2[i])) == want and i not in picked:
                picked.append(i)
                break
    return picked


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--examples", required=True)
    a = ap.parse_args()

    X, y = adult.load(a.data)
    X_train, X_test, y_train, y_test = adult.split(X, y)
    trained = {"versions": {}}
    specs = {v: adult.SPECS[v]() for v in SERVED}
    models = {v: adult.fit(specs[v], X_train, y_train) for v in SERVED}
    preds = {v: models[v].predict(adult.matrix(specs[v], X_test)) for v in SERVED}
    rows_idx = example_rows(preds["1"], preds["2"])
    for v in SERVED:
        spec, model = specs[v], models[v]
        metrics = adult.scores(model, adult.matrix(spec, X_test), y_test)
        d = os.path.join(a.out, f"income-classifier-v{v}")
        os.makedirs(d, exist_ok=True)
        joblib.dump(model, os.path.join(d, "model.joblib"))
        n = len(spec["features"])
        write_json(os.path.join(d, "model-settings.json"), {
            "name": "income-classifier",
            "implementation": "mlserver_sklearn.SKLearnModel",
            "inputs": [{"name": "features", "datatype": "FP64", "shape": [-1, n]}],
            "parameters": {"uri": "./model.joblib", "version": v},
        })
        rows = adult.numeric(X_test, spec["features"])[rows_idx]
        write_json(os.path.join(a.examples, f"infer-example-v{v}.json"), {
            "inputs": [{
                "name": "features",
                "shape": [len(rows_idx), n],
                "datatype": "FP64",
                "data": [float(x) for x in rows.ravel()],
            }],
        })
        write_json(os.path.join(a.examples, f"infer-example-v{v}.expected.json"), {
            "columns": spec["features"],
            "test_rows": rows_idx,
            "outputs": [{"name": "predict", "datatype": "INT64", "shape": [len(rows_idx), 1],
                         "data": [int(p) for p in model.predict(rows)]}],
            "predict_proba": [float(p) for p in model.predict_proba(rows)[:, 1]],
            "labels": [int(y_test[i]) for i in rows_idx],
        })
        trained["versions"][v] = {"features": spec["features"], "metrics": metrics}
        print(f"v{v}: {metrics}")
    write_json(os.path.join(a.out, "trained.json"), trained)


if __name__ == "__main__":
    main()
