"""A check that one prior sd suits every feature: the silent failure of an unstandardised X.

One ``N(0, σ²)`` prior on every coefficient says that a unit change of any feature moves the
output by about σ. That holds only when the features share a scale. On raw data it shrinks some
or all coefficients toward 0 without any error (scikit-learn's unscaled diabetes data with the
default σ = 1 gives coefficients near 0 and a noise sd of 77 against 54), so the estimators warn.
"""

from __future__ import annotations

import numpy as np

# Orders of magnitude that make a mismatch worth a warning: a factor 100 between feature sds, or a
# prior that lets a one-sd change of every feature move the output by less than 1% of its scale.
SPREAD_LIMIT = 100.0
NARROW_LIMIT = 0.01


def prior_scale_problem(
    feature_sd: np.ndarray, names: list[str], *, prior_sigma: float, output_scale: float, output: str
) -> str | None:
    """Say what is wrong with one prior sd for features of sds ``feature_sd``, or return None.

    Parameters
    ----------
    feature_sd : ndarray of shape (n_features,)
        The sd of each column of X.
    names : list of str
        Feature names, for the message.
    prior_sigma : float
        The prior sd of every coefficient.
    output_scale : float
        The scale of the output the coefficients move: sd(y) for a linear model, 1 logit unit for
        a logistic one.
    output : str
        How to name that scale in the message.

    Returns
    -------
    str or None

    Examples
    --------
    >>> prior_scale_problem(np.array([1.0, 1000.0]), ["a", "b"], prior_sigma=1.0,
    ...                     output_scale=1.0, output="logit unit") is not None
    True
    >>> prior_scale_problem(np.array([1.0, 2.0]), ["a", "b"], prior_sigma=1.0,
    ...                     output_scale=1.0, output="logit unit") is None
    True
    """
    varying = feature_sd > 0
    if not np.any(varying) or not output_scale > 0:
        return None
    sd = feature_sd[varying]
    labels = [n for n, v in zip(names, varying, strict=True) if v]
    advice = (
        "Standardise X (e.g. make_pipeline(StandardScaler(), estimator)) so that one prior_sigma "
        "means the same for every feature."
    )
    spread = float(sd.max() / sd.min())
    if spread > SPREAD_LIMIT:
        big, small = labels[int(np.argmax(sd))], labels[int(np.argmin(sd))]
        return (
            f"The feature sds differ by a factor {spread:.3g} ({big!r}: {sd.max():.3g}, {small!r}: "
            f"{sd.min():.3g}), but one prior_sigma={prior_sigma:g} is put on every coefficient: "
            f"the prior shrinks the coefficients of small-scale features far more. {advice}"
        )
    standardised = bool(np.all((sd > 0.1) & (sd < 10)))
    reach = prior_sigma * sd / output_scale
    if not standardised and reach.min() < NARROW_LIMIT:
        order = [j for j in np.argsort(reach) if reach[j] < NARROW_LIMIT]
        named = ", ".join(f"{labels[j]!r} ({reach[j]:.2g})" for j in order[:3])
        more = f" and {len(order) - 3} more" if len(order) > 3 else ""
        return (
            f"prior_sigma={prior_sigma:g} is orders of magnitude below the scale these unstandardised "
            f"features need: a one-sd change of {named}{more} moves the output by that fraction of "
            f"{output} a priori, so their coefficients are shrunk almost to 0. {advice}"
        )
    return None
