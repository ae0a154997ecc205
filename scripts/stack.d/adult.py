"""The UCI Adult income models used by the test stack, shared by both venvs.

seed_mlflow.py (MLflow venv) and mlserver_models.py (MLServer venv) import this file, so the models logged to
MLflow and the models MLServer serves are trained by the same code on the same split with the same seeds and
the same pinned scikit-learn/numpy: they are the same models (scripts/stack checks their metrics agree).
"""

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
    "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country",
    "income",
]
SEED = 42
TEST_SIZE = 0.25

V1_FEATURES = ["age", "education_num", "hours_per_week"]
V2_FEATURES = ["age", "education_num", "hours_per_week", "capital_gain", "capital_loss"]
V3_NUMERIC = V2_FEATURES
V3_CATEGORICAL = ["sex", "race"]


def load(path):
    """Features frame and 0/1 label (income > 50K). No header, values have a leading space."""
    df = pd.read_csv(path, header=None, names=COLUMNS, skipinitialspace=True, na_values="?")
    df = df.dropna(subset=["income"])
    y = (df["income"].str.strip() == ">50K").astype(np.int64).to_numpy()
    return df.drop(columns=["income"]).reset_index(drop=True), y


def split(X, y):
    return train_test_split(X, y, test_size=TEST_SIZE, random_state=SEED, stratify=y)


def numeric(X, cols):
    """Plain float64 matrix (what an OIP client sends as FP64), no feature names."""
    return X[cols].to_numpy(dtype=np.float64)


def v1():
    return {
        "features": V1_FEATURES,
        "estimator": Pipeline([
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(C=1.0, max_iter=1000)),
        ]),
        "params": {"model_type": "logistic_regression", "C": 1.0, "max_iter": 1000, "scaler": "standard"},
        "tabular": False,
    }


def v2():
    return {
        "features": V2_FEATURES,
        "estimator": HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.1, max_leaf_nodes=31, early_stopping=False, random_state=SEED),
        "params": {"model_type": "hist_gradient_boosting", "max_iter": 100, "learning_rate": 0.1,
                   "max_leaf_nodes": 31},
        "tabular": False,
    }


def v3():
    pre = ColumnTransformer([
        ("num", "passthrough", V3_NUMERIC),
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), V3_CATEGORICAL),
    ])
    return {
        "features": V3_NUMERIC + V3_CATEGORICAL,
        "estimator": Pipeline([
            ("prep", pre),
            ("clf", HistGradientBoostingClassifier(
                max_iter=100, learning_rate=0.1, max_leaf_nodes=31, early_stopping=False, random_state=SEED)),
        ]),
        "params": {"model_type": "hist_gradient_boosting", "max_iter": 100, "learning_rate": 0.1,
                   "max_leaf_nodes": 31, "categorical": "sex,race (one-hot)"},
        "tabular": True,
    }


def baseline():
    return {
        "features": V1_FEATURES,
        "estimator": DummyClassifier(strategy="prior"),
        "params": {"model_type": "dummy_prior"},
        "tabular": False,
    }


SPECS = {"1": v1, "2": v2, "3": v3}


def matrix(spec, X):
    return X[spec["features"]].copy() if spec["tabular"] else numeric(X, spec["features"])


def scores(model, X, y):
    pred = model.predict(X)
    proba = model.predict_proba(X)[:, 1]
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "roc_auc": float(roc_auc_score(y, proba)),
    }


def fit(spec, X_train, y_train):
    from sklearn.base import clone

    model = clone(spec["estimator"])
    model.fit(matrix(spec, X_train), y_train)
    return model
