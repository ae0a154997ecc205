"""Seed the MLflow server at $MLFLOW_TRACKING_URI (run with the MLflow venv's python).

income-classifier: 3 versions, each from a run that trains a scikit-learn model on UCI Adult
  (params, accuracy/precision/recall/roc_auc on the held-out split, learning_curve_accuracy over 5 steps),
  version tags and descriptions, model description and tags, aliases champion -> 2, challenger -> 3.
income-baseline: 1 version (a prior-probability dummy classifier), so listings hold more than one model.
Idempotent: a model that already holds its versions is left alone. Writes a JSON summary to --out.
"""

import argparse
import json
import logging
import os
import sys
import time
import urllib.request
import warnings

import mlflow
import mlflow.sklearn
import sklearn
from mlflow import MlflowClient
from mlflow.models import infer_signature

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adult  # noqa: E402

MODEL = "income-classifier"
BASELINE = "income-baseline"
EXPERIMENT = "adult-income"
CURVE_STEPS = 5

VERSION_INFO = {
    "1": ("Logistic regression on age, education_num, hours_per_week (standardized).", "logreg-3"),
    "2": ("Histogram gradient boosting on age, education_num, hours_per_week, capital_gain, capital_loss.",
          "hgb-5"),
    "3": ("Histogram gradient boosting on the v2 features plus sex and race (one-hot). Uses protected "
          "attributes: review group fairness before promoting.", "hgb-5-sex-race"),
}


def train(spec, X_train, X_test, y_train, y_test):
    """Fit the model and its learning curve: held-out accuracy as the training set grows (step k uses the
    first k/5 of the training split; step 5 is the model itself). Runs before the server is up."""
    Xt = adult.matrix(spec, X_test)
    curve = []
    for k in range(1, CURVE_STEPS):
        n = len(X_train) * k // CURVE_STEPS
        m = adult.fit(spec, X_train.iloc[:n], y_train[:n])
        curve.append(adult.scores(m, Xt, y_test)["accuracy"])
    model = adult.fit(spec, X_train, y_train)
    metrics = adult.scores(model, Xt, y_test)
    curve.append(metrics["accuracy"])
    return {"spec": spec, "model": model, "metrics": metrics, "curve": curve, "sample": Xt[:5]}


def log_and_register(name, v, t, X_train, y_train, X_test, data_path, extra_tags):
    spec, model, metrics = t["spec"], t["model"], t["metrics"]
    with mlflow.start_run(run_name=f"{name}-v{v}-{spec['params']['model_type']}") as run:
        mlflow.set_tags({"team": "risk", "data": "adult", "model_name": name})
        mlflow.log_params({
            **spec["params"],
            "features": ",".join(spec["features"]),
            "n_features": len(spec["features"]),
            "test_size": adult.TEST_SIZE,
            "random_state": adult.SEED,
            "train_rows": len(X_train),
            "test_rows": len(X_test),
        })
        # The columns this version trained on (schema inference over all 14 columns costs ~3 s).
        train_df = X_train[spec["features"]].assign(income=y_train)
        mlflow.log_input(mlflow.data.from_pandas(train_df, source=data_path, name="adult-train",
                                                 targets="income"), context="training")
        for k, acc in enumerate(t["curve"], start=1):
            mlflow.log_metric("learning_curve_accuracy", acc, step=k)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(t["sample"], model.predict(t["sample"])),
            pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
            # MLflow 3.17 defaults to skops, which costs ~6 s per model here (type scans, a load check) and
            # distrusts HGB's TreePredictor; these are our own models, so plain cloudpickle.
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
        )
        mlflow.log_metrics(metrics, model_id=info.model_id)
        mv = mlflow.register_model(info.model_uri, name, tags={"team": "risk", "data": "adult", **extra_tags})
    return mv, run.info.run_id, info


def wait_for_server(seconds):
    url = mlflow.get_tracking_uri().rstrip("/") + "/health"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.25)
    raise SystemExit(f"MLflow not ready at {url} after {seconds} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--wait", type=float, default=180, help="seconds to wait for the server's /health")
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.WARNING)

    t0 = time.monotonic()
    X, y = adult.load(a.data)
    X_train, X_test, y_train, y_test = adult.split(X, y)
    trained = {v: train(adult.SPECS[v](), X_train, X_test, y_train, y_test) for v in ["1", "2", "3"]}
    trained_baseline = train(adult.baseline(), X_train, X_test, y_train, y_test)
    print(f"trained in {time.monotonic() - t0:.1f} s; waiting for {mlflow.get_tracking_uri()}", flush=True)
    wait_for_server(a.wait)
    t1 = time.monotonic()
    client = MlflowClient()
    mlflow.set_experiment(EXPERIMENT)
    summary = {"tracking_uri": mlflow.get_tracking_uri(), "experiment": EXPERIMENT, "models": {}}

    def existing_versions(name):
        return {mv.version: mv for mv in client.search_model_versions(f"name='{name}'")}

    # income-classifier
    try:
        client.get_registered_model(MODEL)
    except mlflow.exceptions.MlflowException:
        client.create_registered_model(
            MODEL,
            tags={"team": "risk", "domain": "credit", "data": "adult"},
            description="Predicts whether yearly income exceeds 50K (UCI Adult). Seeded by scripts/stack.",
        )
    have = existing_versions(MODEL)
    versions = {}
    for v in ["1", "2", "3"]:
        spec = trained[v]["spec"]
        desc, short = VERSION_INFO[v]
        if v in have:
            mv = have[v]
            run = client.get_run(mv.run_id)
            versions[v] = {"run_id": mv.run_id, "metrics": {k: run.data.metrics[k] for k in
                                                           ("accuracy", "precision", "recall", "roc_auc")}}
            continue
        extra = {"features": ",".join(spec["features"]), "variant": short}
        if v == "3":
            extra["sensitive_features"] = "sex,race"
        mv, run_id, info = log_and_register(MODEL, v, trained[v], X_train, y_train, X_test, a.data, extra)
        metrics, curve = trained[v]["metrics"], trained[v]["curve"]
        if mv.version != v:
            raise SystemExit(f"expected {MODEL} version {v}, MLflow created {mv.version} (not a fresh server?)")
        client.update_model_version(MODEL, v, description=desc)
        versions[v] = {"run_id": run_id, "model_id": info.model_id, "source": info.model_uri,
                       "metrics": metrics, "learning_curve_accuracy": curve}
        print(f"{MODEL} v{v}: run {run_id} {metrics}", flush=True)
    client.set_registered_model_alias(MODEL, "champion", "2")
    client.set_registered_model_alias(MODEL, "challenger", "3")

    # income-baseline (a second, small model)
    try:
        client.get_registered_model(BASELINE)
    except mlflow.exceptions.MlflowException:
        client.create_registered_model(BASELINE, tags={"team": "risk", "data": "adult"},
                                       description="Prior-probability baseline for income-classifier.")
    base_versions = {}
    if "1" not in existing_versions(BASELINE):
        t = trained_baseline
        mv, run_id, info = log_and_register(BASELINE, "1", t, X_train, y_train, X_test, a.data,
                                            {"variant": "dummy-prior"})
        metrics, curve = t["metrics"], t["curve"]
        client.update_model_version(BASELINE, mv.version, description="Always predicts the training prior.")
        base_versions["1"] = {"run_id": run_id, "model_id": info.model_id, "metrics": metrics,
                              "learning_curve_accuracy": curve}

    # Summary of what the server now holds (read back through the client).
    for name, vs in ((MODEL, versions), (BASELINE, base_versions)):
        rm = client.get_registered_model(name)
        out = {"description": rm.description, "tags": rm.tags, "aliases": rm.aliases, "versions": {}}
        for mv in sorted(client.search_model_versions(f"name='{name}'"), key=lambda m: int(m.version)):
            full = client.get_model_version(name, mv.version)
            out["versions"][mv.version] = {
                **vs.get(mv.version, {}),
                "run_id": full.run_id,
                "source": full.source,
                "description": full.description,
                "tags": full.tags,
                "aliases": full.aliases,
                "status": full.status,
            }
        summary["models"][name] = out
    with open(a.out, "w") as f:
        json.dump(summary, f, indent=2, default=str)
        f.write("\n")
    print(f"logged in {time.monotonic() - t1:.1f} s")
    print("seeded", ", ".join(f"{n} ({len(m['versions'])} versions)" for n, m in summary["models"].items()))


if __name__ == "__main__":
    main()
