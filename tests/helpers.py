"""Data loaders and constants shared by the tests (imported by conftest.py and test modules).

Tests import from here rather than from each other or from conftest.py, so that each test module
stands alone and pytest's conftest machinery stays a fixture registry.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]

# Known noise sd for diabetes: close to the residual sd of least squares (about 53.8).
DIABETES_NOISE = 54.0
DIABETES_PRIOR = 10.0


def standardise(frame: pd.DataFrame) -> pd.DataFrame:
    return (frame - frame.mean()) / frame.std(ddof=0)


def refdata_dir() -> Path | None:
    """Where the published reference posteriors live, or None when they are not here."""
    candidates = [os.environ.get("BAYESREG_REFDATA"), REPO.parent / "shared" / "refdata"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def prostate_train(refdata: Path) -> tuple[np.ndarray, np.ndarray]:
    """The prostate cancer training rows of ESL (67), features standardised with ddof=1."""
    frame = pd.read_csv(refdata / "prostate.data", sep="\t", index_col=0)
    cols = ["lcavol", "lweight", "age", "lbph", "svi", "lcp", "gleason", "pgg45"]
    Xs = (frame[cols] - frame[cols].mean()) / frame[cols].std(ddof=1)
    train = (frame["train"] == "T").to_numpy()
    return Xs.to_numpy()[train], frame["lpsa"].to_numpy()[train]
