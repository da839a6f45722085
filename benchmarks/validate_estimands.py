"""Coverage of the average effect (ATE) by our estimands and by DoubleML, over simulated
programmes whose knobs make the estimands differ.

For each setting, ``--replications`` fresh programmes; on each, ``has_face`` is estimated by

* ours: ``estimand="ate"`` (doubly robust, the default), ``"plr"`` (partially linear), the
  naive within-test difference and OLS with test fixed effects;
* DoubleML (the reference, test-only dependency): ``DoubleMLIRM`` (ATE) on the same
  within-test contrast, treatment and features as our ATE, and ``DoubleMLPLR`` on the same
  demeaned data as our PLR, both with errors clustered by test and histogram gradient
  boosting nuisances (our former default), impression weights for the IRM's ATE.

The truth is the population ATE: the impression-weighted average of every artwork's own
effect over the cells of multi-cell tests of a 20 000-title programme with the same knobs
(``ProgramTruth.effect_over``); the sample ATE of each programme is reported too. Printed per
setting and estimator: coverage of the 95% interval, bias (effect units and mean z), the
standard deviation of the z-scores (estimate minus truth over SE), mean SE against the
estimates' own spread, mean interval width and mean interval score (width plus 40 times any
miss; a proper scoring rule for 95% intervals); then our ATE and DoubleML's IRM paired on the
same programmes: in how many each interval covers where the other misses, with the exact
test that both cover equally often (McNemar's), and the paired difference of their interval
scores.

    python benchmarks/validate_estimands.py [--replications 100] [--first 0] [--settings all] [--n-jobs 2]
                                            [--fold-seed 0] [--save rows.csv]
    python benchmarks/validate_estimands.py --saved rows.csv [rows_fold1.csv ...]

``--fold-seed k`` keeps the programmes and draws other cross-fitting folds (and nuisance
seeds) for every estimator: the part of a coverage figure that is the luck of one split.
``--saved`` prints the tables again from ``--save`` files without fitting; given the runs of
several fold seeds it pools them, and the paired test and the interval score's standard error
keep each programme's runs together (they are not independent draws).

Settings: default, effect_propensity (PLR != ATE), nonlinear (nonlinear confounding), small
(190 titles, about 750 cells, 10 extra covariates), linear (constant effect, OLS is right).
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

SETTINGS: dict[str, dict[str, Any]] = {
    "default": dict(),
    "effect_propensity": dict(effect_propensity=3.0),
    "nonlinear": dict(nonlinear_confounding=1.0),
    "small": dict(titles=190, extra_covariates=10),
    "linear": dict(heterogeneity=0.0),
}
# DoubleML's nuisances in every comparison: histogram gradient boosting as our former default
REFERENCE_BOOSTING: dict[str, Any] = dict(max_iter=300, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=20,
                                          l2_regularization=1.0, early_stopping=True, validation_fraction=0.15,
                                          n_iter_no_change=10)
ESTIMATORS = ("ours ate", "ours plr", "naive", "ols", "DoubleML IRM", "DoubleML PLR")


def population_truth(knobs: dict[str, Any]) -> float:
    """The population ATE of has_face for these knobs (a 20 000-title programme)."""
    from creative_causal.datasets import simulate_program

    kw = {k: v for k, v in knobs.items() if k != "titles"}
    big = simulate_program(20_000, random_state=10**6, **kw)
    cells = big.study_data(check_srm=False).frame
    multi = cells["n_cells_in_test"] > 1
    return big.truth.effect_over("has_face", cells.loc[multi, "artwork_id"], cells.loc[multi, "impressions"])


def doubleml_fits(prep_dr: Any, prep_plr: Any, seed: int) -> dict[str, tuple[float, float, float, float]]:
    """DoubleML's IRM (on our ATE's inputs) and PLR (on our PLR's inputs), clustered by test."""
    import doubleml as dml
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    from creative_causal.estimation import within_test_inputs

    settings = dict(REFERENCE_BOOSTING, random_state=seed)
    out = {}
    y, t, x = within_test_inputs(prep_dr)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])]).assign(y=y, d=t, test=prep_dr.codes)
    data = dml.DoubleMLData(frame, "y", "d", x_cols=[c for c in frame if c.startswith("x")], cluster_cols="test")
    w = prep_dr.weights / prep_dr.weights.mean()
    np.random.seed(seed)  # DoubleML draws its folds from the global generator
    irm = dml.DoubleMLIRM(data, HistGradientBoostingRegressor(**settings), HistGradientBoostingClassifier(**settings),
                          n_folds=5, weights=w).fit()
    out["DoubleML IRM"] = _row(irm)
    frame = pd.DataFrame(prep_plr.features, columns=[f"x{i}" for i in range(prep_plr.features.shape[1])])
    frame = frame.assign(y=prep_plr.y, d=prep_plr.t, test=prep_plr.codes)
    data = dml.DoubleMLData(frame, "y", "d", x_cols=[c for c in frame if c.startswith("x")], cluster_cols="test")
    np.random.seed(seed)
    plr = dml.DoubleMLPLR(data, HistGradientBoostingRegressor(**settings), HistGradientBoostingRegressor(**settings),
                          n_folds=5).fit()
    out["DoubleML PLR"] = _row(plr)
    return out


def _row(model: Any) -> tuple[float, float, float, float]:
    low, high = model.confint(level=0.95).to_numpy()[0]
    return float(model.coef[0]), float(model.se[0]), float(low), float(high)


def draw_programme(setting: str, r: int) -> Any:
    """Replication ``r`` of ``setting``: the programme every validation script draws for it."""
    from creative_causal.datasets import simulate_program

    knobs = dict(SETTINGS[setting])
    titles = knobs.pop("titles", 300)
    return simulate_program(titles, random_state=programme_seed(setting, r), **knobs)


def programme_seed(setting: str, r: int) -> int:
    return 7_000 + 1_000 * list(SETTINGS).index(setting) + r


def doubly_robust_inputs(study: Any) -> Any:
    """``estimate_effect``'s prepared data for ``has_face``'s doubly robust estimands (within-test
    design, the graph's confounders, tests where the face never varies kept)."""
    from creative_causal.estimation import prepare, resolve_confounders

    confounders, _ = resolve_confounders(study, "has_face", study.outcome, None, None)
    return prepare(study, "has_face", study.outcome, confounders, "within_test", study.cluster, study.weight,
                   keep_constant_tests=True)


def one_replication(setting: str, r: int, with_doubleml: bool, fold_seed: int = 0) -> dict[str, Any]:
    warnings.simplefilter("ignore")
    from creative_causal import estimate_effect
    from creative_causal.estimation import prepare, resolve_confounders

    seed = programme_seed(setting, r)
    program = draw_programme(setting, r)
    study = program.study_data(check_srm=False)
    cells = study.frame
    multi = cells["n_cells_in_test"] > 1
    row: dict[str, Any] = dict(setting=setting, replication=r, n_cells=int(multi.sum()),
                               sample_ate=program.truth.effect_over("has_face", cells.loc[multi, "artwork_id"],
                                                                    cells.loc[multi, "impressions"]))
    timing = {}
    for name, kw in (("ours ate", dict(estimand="ate")), ("ours plr", dict(estimand="plr")),
                     ("naive", dict(method="naive")), ("ols", dict(method="ols"))):
        start = time.perf_counter()
        est = estimate_effect(study, "has_face", random_state=r + 100_000 * fold_seed, **kw)
        timing[name] = time.perf_counter() - start
        row[name] = (est.value, est.std_error, est.ci_low, est.ci_high)
    row["n_covariates"] = len(est.adjustment_set)
    if with_doubleml:
        confounders, _ = resolve_confounders(study, "has_face", study.outcome, None, None)
        args = (study, "has_face", study.outcome, confounders, "within_test", study.cluster, study.weight)
        row.update(doubleml_fits(prepare(*args, keep_constant_tests=True), prepare(*args),
                                 (seed + 100_000 * fold_seed) % 2**31))
    row["seconds"] = timing
    return row


def summarise(rows: list[dict[str, Any]], truth: float) -> pd.DataFrame:
    out = []
    for name in ESTIMATORS:
        got = [r[name] for r in rows if name in r]
        if not got:
            continue
        value, se, low, high = (np.array(v) for v in zip(*got))
        sample = np.array([r["sample_ate"] for r in rows if name in r])
        z = (value - truth) / se
        out.append(dict(estimator=name, n=len(value), coverage=np.mean((low <= truth) & (truth <= high)),
                        coverage_sample_ate=np.mean((low <= sample) & (sample <= high)), bias=np.mean(value - truth),
                        mean_z=np.mean(z), sd_z=np.std(z, ddof=1), mean_se=np.mean(se), sd_estimates=np.std(value, ddof=1),
                        width=np.mean(high - low), interval_score=np.mean(interval_score(low, high, truth))))
    return pd.DataFrame(out)


def interval_score(low: np.ndarray, high: np.ndarray, truth: np.ndarray | float, level: float = 0.95) -> np.ndarray:
    """The interval score of each ``level`` interval (Gneiting and Raftery 2007, section 6.2):
    its width plus ``2 / (1 - level)`` times the distance by which the truth falls outside it.
    Lower is better. It is a proper scoring rule for central intervals: in expectation it is
    smallest for the true quantiles, so it rewards neither intervals too wide (as coverage
    alone does) nor intervals too narrow to hold the truth.

    Examples
    --------
    >>> interval_score(np.array([0.0, 0.0]), np.array([1.0, 1.0]), np.array([0.5, 1.1])).round(3)
    array([1., 5.])
    """
    outside = np.maximum(np.asarray(low) - truth, 0) + np.maximum(truth - np.asarray(high), 0)
    return np.asarray(high) - np.asarray(low) + 2 / (1 - level) * outside


def sign_flip_p(differences: np.ndarray) -> float:
    """Exact two-sided p-value that integer differences, one per programme, are symmetric about
    zero (every assignment of their signs equally likely). With one run per programme (each
    difference -1, 0 or +1: only ours covers, both or neither, only the reference) it is the
    exact McNemar test; with several runs of the same programmes (other folds) a programme's
    runs stay together, where a McNemar test of the pooled runs would count them as independent.

    Examples
    --------
    >>> round(sign_flip_p(np.array([1] * 2 + [-1] * 7)), 3)  # McNemar: binomtest(2, 9)
    0.18
    """
    sizes = np.abs(np.asarray(differences, dtype=int))
    sizes = sizes[sizes > 0]
    total = int(sizes.sum())
    if total == 0:
        return 1.0
    distribution = np.zeros(2 * total + 1)  # of the sum, on -total..total
    distribution[total] = 1.0
    for size in sizes:  # the partial sums stay within -total..total, so nothing wraps around
        distribution = 0.5 * (np.roll(distribution, size) + np.roll(distribution, -size))
    observed = abs(int(np.sum(differences)))
    at_least = np.abs(np.arange(-total, total + 1)) >= observed
    return float(min(1.0, distribution[at_least].sum()))


def paired_comparison(rows: list[dict[str, Any]], truth: float, ours: str = "ours ate",
                      reference: str = "DoubleML IRM") -> str | None:
    """Our interval and the reference's on the same programmes (rows of one or several runs;
    the runs of a programme are kept together, by its ``replication``): how often one covers
    where the other misses, with the exact test that both cover equally often
    (:func:`sign_flip_p`), and the mean interval score of each (:func:`interval_score`) with
    the standard error of their paired difference."""
    pairs = [(r["replication"], r[ours], r[reference]) for r in rows if ours in r and reference in r]
    if not pairs:
        return None
    programme = np.array([p[0] for p in pairs])
    ours_row, reference_row = (np.array([p[k] for p in pairs]) for k in (1, 2))
    covers = [(row[:, 2] <= truth) & (truth <= row[:, 3]) for row in (ours_row, reference_row)]
    alone_ours, alone_reference = covers[0] & ~covers[1], ~covers[0] & covers[1]
    codes = np.unique(programme, return_inverse=True)[1]
    p = sign_flip_p(np.bincount(codes, weights=alone_ours.astype(int) - alone_reference.astype(int)).round().astype(int))
    scores = [interval_score(row[:, 2], row[:, 3], truth) for row in (ours_row, reference_row)]
    by_programme = np.bincount(codes, weights=scores[0] - scores[1]) / np.bincount(codes)
    se = np.std(by_programme, ddof=1) / np.sqrt(len(by_programme)) if len(by_programme) > 1 else float("nan")
    runs = f"{len(pairs)} fits of {len(by_programme)} programmes" if len(pairs) > len(by_programme) else \
        f"{len(pairs)} programmes"
    return (f"{ours} against {reference} on the same {runs}: both cover {int((covers[0] & covers[1]).sum())}, "
            f"only {ours} {int(alone_ours.sum())}, only {reference} {int(alone_reference.sum())}, neither "
            f"{int((~covers[0] & ~covers[1]).sum())} (exact paired test p = {p:.2f}); mean interval score "
            f"{scores[0].mean():.4f} against {scores[1].mean():.4f}, difference {by_programme.mean():+.4f} "
            f"(SE {se:.4f}, by programme)")


def read_saved(paths: list[str]) -> dict[str, tuple[list[dict[str, Any]], float]]:
    """The rows of one or more ``--save`` files, by setting, with the setting's truth."""
    import ast

    frame = pd.concat([pd.read_csv(path) for path in paths], ignore_index=True)
    out = {}
    for setting, group in frame.groupby("setting", sort=False):
        rows = []
        for record in group.to_dict("records"):
            row = {k: v for k, v in record.items() if k not in ESTIMATORS}
            # an estimator's (value, se, low, high) is saved as its text; a run without it left NaN
            row.update({k: ast.literal_eval(v) for k, v in record.items() if k in ESTIMATORS and isinstance(v, str)})
            rows.append(row)
        out[str(setting)] = (rows, float(group["truth"].iloc[0]))
    return out


def report(header: str, rows: list[dict[str, Any]], truth: float) -> None:
    """Print a setting's table and, where both were fitted, our ATE paired with the IRM."""
    print(f"\n{header}")
    print(summarise(rows, truth).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    paired = paired_comparison(rows, truth)
    if paired:
        print(paired)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--first", type=int, default=0, help="first replication (more programmes: --first 100)")
    parser.add_argument("--settings", nargs="+", default=["all"], choices=["all", *SETTINGS])
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--fold-seed", type=int, default=0, help="same programmes, other folds (0: the documented run)")
    parser.add_argument("--no-doubleml", action="store_true")
    parser.add_argument("--save", default=None, help="write every replication's row to this CSV")
    parser.add_argument("--saved", nargs="+", default=None, metavar="CSV",
                        help="print the tables of --save files instead of fitting (several: runs of the same "
                             "programmes with other --fold-seed, pooled)")
    args = parser.parse_args()
    if args.saved:
        for setting, (rows, truth) in read_saved(args.saved).items():
            report(f"{setting}: population ATE {truth:+.4f}; {len(rows)} rows of {args.saved}", rows, truth)
        return
    from joblib import Parallel, delayed

    settings = list(SETTINGS) if "all" in args.settings else args.settings
    saved = []
    for setting in settings:
        start = time.perf_counter()
        truth = population_truth(SETTINGS[setting])
        rows = Parallel(n_jobs=args.n_jobs)(delayed(one_replication)(setting, r, not args.no_doubleml, args.fold_seed)
                                            for r in range(args.first, args.first + args.replications))
        cells = np.mean([r["n_cells"] for r in rows])
        seconds = {k: np.median([r["seconds"][k] for r in rows]) for k in rows[0]["seconds"]}
        report(f"{setting}: population ATE {truth:+.4f}; {args.replications} replications of about {cells:.0f} cells, "
               f"{rows[0]['n_covariates']} confounders; {time.perf_counter() - start:.0f} s "
               f"(median fit: ate {seconds['ours ate']:.1f} s, plr {seconds['ours plr']:.1f} s)", rows, truth)
        saved += [{**{k: v for k, v in r.items() if k != "seconds"}, "truth": truth} for r in rows]
    if args.save:
        pd.DataFrame(saved).to_csv(args.save, index=False)


if __name__ == "__main__":
    main()
