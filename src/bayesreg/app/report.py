"""``report.md`` of a run, in plain Markdown that reads well as text too.

It gives the data, the model, the ridge equivalence with numbers, the tables, the convergence
verdict (at the top when a fit failed) and links to the figures.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from bayesreg.app.records import FitResult, RunResult
    from bayesreg.app.spec import Spec

__all__ = [
    "equivalence_text",
    "likelihood_text",
    "markdown_table",
    "prior_text",
    "sampler_text",
    "write_report",
]


def _escape(text: object) -> str:
    """Text for one cell of a pipe table: ``|`` escaped, no line breaks (either would split it)."""
    return " ".join(str(text).splitlines()).replace("|", "\\|")


def markdown_table(frame: pd.DataFrame, *, digits: int = 6) -> str:
    r"""A GFM pipe table of ``frame`` (index included), numbers to ``digits`` significant digits.

    Header and body cells are escaped alike, so a ``|`` in a column name stays in its cell.

    Examples
    --------
    >>> print(markdown_table(pd.DataFrame({"|a|": [1.0, np.nan]}, index=pd.Index(["x", "y"], name="term"))))
    | term | \|a\| |
    |---|---:|
    | x | 1 |
    | y |  |
    """

    def cell(value) -> str:
        if isinstance(value, float | np.floating):
            return "" if math.isnan(value) else f"{value:.{digits}g}"
        return _escape(value)

    head = [_escape(frame.index.name or ""), *map(_escape, frame.columns)]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * len(frame.columns)]
    for label, row in frame.iterrows():
        lines.append("| " + " | ".join([cell(label), *(cell(v) for v in row)]) + " |")
    return "\n".join(lines)


def equivalence_text(fit: FitResult) -> str:
    """The prior-penalty equivalence of one fit, with its numbers (from the estimator's penalty)."""
    return fit.comparison.penalty.sentence()


def likelihood_text(spec: Spec, est) -> str:
    """The likelihood of a spec's model in one line, e.g. ``"y ~ Normal(b + X·w, σ_n²), known …"``."""
    m = spec.model
    if m.kind == "linear":
        if m.noise_sigma is not None:
            noise = f"known noise sd σ_n = {m.noise_sigma:g}"
        else:
            scale = f"{m.noise_prior_sigma:g}" if m.noise_prior_sigma is not None else "sd(y)"
            shape = {
                "halfnormal": f"HalfNormal({scale})",
                "halfcauchy": f"HalfCauchy({scale})",
                "halfstudentt": f"HalfStudentT(ν={m.noise_prior_nu:g}, {scale})",
                "exponential": f"Exponential(mean {scale})",
                "flat": "flat on (0, ∞)",
            }[m.noise_prior]
            noise = f"unknown noise sd σ_n ~ {shape}"
        return f"y ~ Normal(b + X·w, σ_n²), {noise}"
    if m.kind == "poisson":
        if spec.data.exposure is not None:
            return (
                "y ~ Poisson(exposure · exp(b + X·w)), counts with a log link, exposure from column "
                f"{spec.data.exposure!r}"
            )
        return "y ~ Poisson(exp(b + X·w)), counts with a log link"
    likelihood = getattr(est, "likelihood_", "bernoulli")
    if likelihood == "binomial":
        return f"y ~ Binomial(trials, sigmoid(b + X·w)), y successes out of column {spec.data.trials!r}"
    if likelihood == "multinomial":
        labels = ", ".join(repr(c.item()) for c in est.classes_)
        return (
            f"y ~ Categorical(softmax(b_k + X·w_k)) over {len(est.classes_)} classes ({labels}); every "
            "class's w_k under the prior, intercepts flat and centred to sum 0"
        )
    event = est.classes_[1].item()  # a plain Python value, not np.int64(1)
    return f"y ~ Bernoulli(sigmoid(b + X·w)), event y = {event!r}"


def _coefficient_prior_words(spec: Spec, sigmas: tuple[float, ...]) -> str:
    """The coefficient prior in words: its shape, centre and sd (with per-feature factors)."""
    m = spec.model
    if m.prior == "flat":
        return "each coefficient w_j flat (no penalty)"
    centre = "m_j" if isinstance(m.prior_mean, tuple) else f"{m.prior_mean:g}"
    shape = {
        "normal": f"Normal({centre}, σ²)",
        "laplace": f"Laplace({centre}, b = σ/√2)",
        "elasticnet": f"ElasticNet({centre}, σ; l1_ratio = {m.l1_ratio:g})",
    }[m.prior]
    listed = ", ".join(f"{s:g}" for s in sigmas)
    text = f"each coefficient w_j ~ {shape}, σ = prior_sigma = {listed}"
    if m.prior_sigma_factor:
        factors = ", ".join(f"{name} ×{f:g}" for name, f in m.prior_sigma_factor)
        text += f", times a factor per feature ({factors}; others ×1)"
    if isinstance(m.prior_mean, tuple):
        text += "; means m_j: " + ", ".join(f"{name} = {v:g}" for name, v in m.prior_mean) + " (others 0)"
    return text


def _intercept_words(spec: Spec) -> str:
    m = spec.model
    if not m.fit_intercept:
        return "no intercept"
    if m.intercept_prior_sigma is None:
        return "intercept b flat (unpenalised)"
    return f"intercept b ~ Normal({m.intercept_prior_mean:g}, {m.intercept_prior_sigma:g}²)"


def prior_text(spec: Spec, prior_sigma: float | None = None) -> str:
    """The prior (the penalty) in one line, for one ``prior_sigma`` or all of a sweep."""
    sigmas = spec.model.prior_sigma if prior_sigma is None else (prior_sigma,)
    return f"{_coefficient_prior_words(spec, sigmas)}; {_intercept_words(spec)}"


def sampler_text(spec: Spec) -> str:
    """How the posterior was computed, with the settings that ran (overrides included)."""
    if spec.method == "mcmc":
        return (
            f"mcmc (NUTS) — {spec.chains} chains × {spec.draws} draws after {spec.tune} tuning steps, "
            f"seed {spec.seed}"
        )
    if spec.method == "exact":
        return (
            f"exact (closed-form Gaussian posterior, {spec.chains} × {spec.draws} iid draws), "
            f"seed {spec.seed}"
        )
    if spec.method == "laplace":
        return (
            f"laplace (the Gaussian at the MAP, corrected by Pareto-smoothed importance sampling; "
            f"{spec.chains} × {spec.draws} draws), seed {spec.seed}"
        )
    return "map (optimisation only; no posterior draws)"


def _model_text(result: RunResult) -> list[str]:
    spec = result.spec
    m = spec.model
    intercept = _intercept_words(spec).replace("flat (unpenalised)", "with a flat prior (unpenalised)")
    return [
        f"- Likelihood: {likelihood_text(spec, result.fits[0].estimator)}",
        f"- Prior: {_coefficient_prior_words(spec, m.prior_sigma)}",
        f"- {intercept[0].upper()}{intercept[1:]}",
        f"- Method: {sampler_text(spec)}",
        f"- Intervals: {_interval_words(result)}",
    ]


def _interval_words(result: RunResult) -> str:
    """The one kind of interval of a run folder, and where its probability shows."""
    cmp = result.fits[0].comparison
    prob = f"{100 * cmp.hdi_prob:.10g}"
    low, high = cmp.interval_columns
    where = f"`{low}`/`{high}` in comparison.csv"
    if any(f.posterior_bytes is not None for f in result.fits):
        where += f", `hdi{prob}_lb`/`hdi{prob}_ub` in summary.csv"
    return f"{prob}% highest-density intervals (HDI) throughout this folder ({where}, the figure legends)"


def _data_file_text(result: RunResult) -> list[str]:
    """Which file was read, resolved, with its hash: a spec's ``csv`` may point anywhere."""
    if result.data_file is None:
        return []
    given = result.spec.data.csv_text or ""
    relative = "" if Path(given).is_absolute() else ", relative to the folder of the spec"
    return [
        f"Read from `{result.data_file}` (SHA-256 `{result.data_sha256}`): the spec's "
        f'`csv = "{given}"`{relative}.',
        "",
    ]


def _size(n_bytes: int) -> str:
    """``"15.1 MB"``, ``"820 kB"``."""
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 1e6 else f"{n_bytes / 1e3:.0f} kB"


def _uncertainty_text(fit: FitResult) -> str:
    cmp = fit.comparison
    low, high = cmp.interval_columns
    prob = f"{100 * cmp.hdi_prob:.10g}%"
    if cmp.uncertainty_source == "laplace":
        from scipy import stats

        z = stats.norm.ppf(0.5 + cmp.hdi_prob / 2)
        return (
            f"No posterior draws (method map): `posterior_sd` and the {prob} interval "
            f"(`{low}`, `{high}`) are those of the **Laplace approximation** at the MAP, the Gaussian "
            f"whose covariance is the inverse Hessian of the negative log posterior; the interval is "
            f"MAP ± {z:.3g} sd. `posterior_mean` and `mcse` stay empty."
        )
    if cmp.uncertainty_source == "exact":
        return (
            f"`posterior_sd` and the {prob} HDI (`{low}`, `{high}`) are exact: the posterior is a "
            "closed-form Gaussian, whose HDI is its central interval."
        )
    return f"`posterior_sd` and the {prob} HDI (`{low}`, `{high}`) are computed from the posterior draws."


def _log_likelihood_text(fit: FitResult) -> list[str]:
    if fit.posterior_bytes is None:
        return []
    if fit.log_likelihood_bytes is None:
        return [
            f"posterior.nc ({_size(fit.posterior_bytes)}) has no pointwise log likelihood "
            "(`compute_log_likelihood = false`): PSIS-LOO (`arviz.loo`) cannot be computed from it; "
            "this run computes no LOO, so nothing else is missing.",
            "",
        ]
    sizes = dict(fit.estimator.idata_["log_likelihood"].sizes)
    chains, draws = sizes.pop("chain"), sizes.pop("draw")
    rows = int(np.prod(list(sizes.values())))
    shape = f"{chains} chains × {draws} draws × {rows} rows"
    share = fit.log_likelihood_bytes / fit.posterior_bytes
    return [
        f"posterior.nc is {_size(fit.posterior_bytes)}; {_size(fit.log_likelihood_bytes)} of it "
        f"({share:.0%}) is the pointwise log likelihood (group `log_likelihood`, {shape}), kept for "
        "PSIS-LOO (`arviz.loo`). Set `compute_log_likelihood = false` in `[sampler]` to leave it out.",
        "",
    ]


_FIGURE_CAPTIONS = {
    "coefficients.png": "per coefficient: ridge (×), MAP (◇){mean} and, as a bar, the {interval}.",
    "rank.png": (
        "rank plots of the chains: lines that stay near 0 with no shared trend mean the chains sample "
        "the same posterior; marked points (if any) are where ArviZ's multi-chain rank test flags a "
        "chain at the 1% level. The verdict above comes from r_hat, ESS and divergences."
    ),
    "trace.png": "trace and density of the single chain (rank plots need two or more chains).",
}


def _banner(result: RunResult) -> list[str]:
    if not result.converged:
        bad = [f for f in result.fits if not f.converged]
        which = ", ".join(f"σ = {f.prior_sigma:g}" for f in bad) if result.spec.is_sweep else "this fit"
        lines = [
            f"> **NOT CONVERGED** ({which}): do not trust this posterior. Increase `draws`/`tune` "
            "(or see the problems below) and run again. Exit code 1."
        ]
        for f in bad:
            conv = f.comparison.convergence
            problems = list(conv.problems) if conv is not None else []
            if not f.estimator.map_converged_:
                problems.insert(0, "the MAP optimizer did not converge")
            lines += [f">  - σ = {f.prior_sigma:g}: {p}" for p in problems]
        return lines
    if not result.agrees:
        lines = ["> **DOES NOT AGREE WITH RIDGE**: the sampler converged but a check failed. Exit code 1."]
        for f in result.fits:
            lines += [f">  - σ = {f.prior_sigma:g}: {r}" for r in f.comparison.reasons]
        return lines
    return ["> **OK**: every fit converged, and its MAP equals the sklearn solution (to 1e-6). Exit code 0."]


def _fit_section(fit: FitResult, heading: str) -> list[str]:
    cmp = fit.comparison
    link = f"{fit.folder}/" if fit.folder else ""
    lines = [heading, "", f"Equivalence: {equivalence_text(fit).rstrip('.')}.", ""]
    verdict = "agrees" if cmp.agrees else "does not agree"
    lines.append(f"max |MAP − ridge| = {cmp.max_abs_diff_map:.3g}; verdict: **{verdict}** with ridge.")
    lines += [f"- {r}" for r in cmp.reasons]
    if cmp.posterior_mean_should_equal_ridge and fit.estimator.idata_ is not None:
        lines.append(
            "(Known noise: the posterior is Gaussian, so its mean should equal ridge too, within "
            "Monte Carlo error; column `z` = (posterior_mean − ridge)/mcse.)"
        )
    elif fit.estimator.idata_ is not None:
        lines.append(
            "(The posterior mean need not equal the MAP here; column `posterior_minus_map` shows the gap.)"
        )
    lines += ["", _uncertainty_text(fit), ""]
    lines += [markdown_table(cmp.table.drop(columns="uncertainty_source", errors="ignore")), ""]
    if cmp.convergence is not None:
        lines += ["Convergence:", "", "```", str(cmp.convergence), "```", ""]
    if fit.warnings:
        lines += ["Warnings raised while fitting:", ""]
        lines += [f"- {w.splitlines()[0]}" for w in fit.warnings]
        lines.append("")
    figures = [f for f in fit.files if f.endswith(".png")]
    data = [f for f in fit.files if not f.endswith(".png")]
    for f in figures:
        mean = "" if cmp.uncertainty_source == "laplace" else ", the posterior mean (●)"
        caption = _FIGURE_CAPTIONS.get(f, "").format(interval=cmp.interval_label, mean=mean)
        lines += [f"![{f}]({link}{f})", "", f"*{f}*: {caption}" if caption else "", ""]
    lines += ["Files: " + ", ".join(f"[{f}]({link}{f})" for f in data), ""]
    lines += _log_likelihood_text(fit)
    return lines


def write_report(result: RunResult, path: Path) -> None:
    """Write ``report.md`` for ``result`` to ``path``.

    Examples
    --------
    >>> write_report(result, Path("runs/diabetes/report.md"))  # doctest: +SKIP
    """
    from bayesreg._version import __version__

    spec = result.spec
    title = f"# bayesreg run: {spec.name}"
    lines = [title, "", *_banner(result), ""]
    if spec.description:
        lines += [spec.description, ""]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines += [
        f"Spec: `{spec.path}` (copied to [spec.toml](spec.toml)); bayesreg {__version__}; {stamp}.",
        "",
        "## Data",
        "",
        f"{result.data_description}.",
        "",
        *_data_file_text(result),
        "## Model",
        "",
        *_model_text(result),
        "",
    ]
    if spec.is_sweep:
        rows = []
        for f in result.fits:
            conv = f.comparison.convergence
            rows.append(
                {
                    "prior_sigma": f.prior_sigma,
                    "penalty": f.comparison.penalty.short,
                    "max |MAP-ridge|": f.comparison.max_abs_diff_map,
                    "max r_hat": conv.max_r_hat if conv else np.nan,
                    "min ESS": min(conv.min_ess_bulk, conv.min_ess_tail) if conv else np.nan,
                    "converged": "yes" if f.converged else "**NO**",
                    "agrees": "yes" if f.agrees else "**NO**",
                    "files": f"[{f.folder}/]({f.folder}/)",
                }
            )
        table = pd.DataFrame(rows).set_index("prior_sigma")
        lines += [
            "## Sweep over prior_sigma",
            "",
            "Small σ is a strong penalty (coefficients pulled to 0); large σ approaches least squares.",
            "",
            markdown_table(table, digits=4),
            "",
            "![regularization path](regularization_path.png)",
            "",
            "All tables in one file: [sweep.csv](sweep.csv).",
            "",
        ]
        for f in result.fits:
            lines += _fit_section(f, f"## σ = {f.prior_sigma:g}")
    else:
        lines += _fit_section(result.fits[0], "## Result")
    Path(path).write_text("\n".join(lines), encoding="utf-8")
