"""A ground-truth simulator of an artwork-testing programme.

The data-generating process (all draws from one local Generator; same seed, same data)::

    title:    genre, country, popularity ~ N(0, 1), hidden "star power" V
    artwork:  hidden style S (shared cause of faces, brightness, text, depth of field),
              hidden confounder U (only when unobserved_confounding > 0)
    has_face      ~ Bernoulli(sigmoid(0.2 + tc*genre_face + tc*0.5*popularity + tc*0.8*V
                                      + title effect + ac*1.0*S + u*U))
    n_faces       = has_face * (1 + Poisson(genre crowd rate))
    face_area     = has_face * clip(0.07 * n_faces^-0.6 * exp(0.5 z), 0.003, 0.6)   (mediation)
    closeup       = face_area >= 0.05
    face_thirds   = has_face * Beta(4, 2);   smile = has_face * Beta(genre mean)
    brightness, colorfulness, ... : genre (scaled by tc) + title style + ac*S + noise, clipped
    saturation    = colorfulness-driven;  exposure_clip grows as brightness falls below 0.3
    text_area     = clip(title text share - ac*0.025*S + noise, 0, 0.6);  has_text = text_area >= 0.01
    log take probability eta = log(0.045) + 0.30*popularity + genre + country + tc*0.15*V
              + title noise + sum_k beta_k * feature_k + (face effect varies by genre)
              - 0.04*u*U + cell noise
    impressions ~ Multinomial(test total, planned shares) (optionally mis-split: SRM)
    plays ~ Binomial(impressions, exp(eta))

``tc`` and ``ac`` are the title- and artwork-level confounding strengths; ``u`` the strength
of the unobserved confounder. Features are generated only from title covariates, hidden
causes and their parents in the catalog (``has_face`` -> face features, ``n_faces`` ->
``face_area`` -> ``closeup``, ``text_area`` -> ``has_text``): the true graph is
``truth.edges``. Ground truth comes from simulating interventions with the same exogenous
noise (see :class:`ProgramTruth`).
"""

from __future__ import annotations

import json
import numbers
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._display import ResultMixin, json_safe
from .._validation import check_int, check_positive, did_you_mean, draw_seed
from ..exceptions import InvalidParameterError, UnknownNameError
from ..plotting import interval_plot

GENRES = ("drama", "comedy", "action", "kids", "documentary", "horror", "romance")
GENRE_SHARE = (0.22, 0.18, 0.16, 0.12, 0.10, 0.10, 0.12)
COUNTRIES = ("US", "BR", "DE", "GB", "IN", "JP", "MX", "FR")
COUNTRY_SHARE = (0.30, 0.12, 0.10, 0.10, 0.12, 0.08, 0.10, 0.08)

# Per-genre parameters (title-level confounding: genres with many faces also have higher baselines).
_GENRE_FACE = dict(drama=0.8, comedy=0.5, action=0.2, kids=0.3, documentary=-1.6, horror=-0.4, romance=1.0)
_GENRE_BASE = dict(drama=0.10, comedy=0.05, action=0.0, kids=0.12, documentary=-0.25, horror=-0.10, romance=0.05)
_GENRE_CROWD = dict(drama=0.4, comedy=1.2, action=0.9, kids=1.0, documentary=0.8, horror=0.5, romance=0.6)
_GENRE_SMILE = dict(drama=0.35, comedy=0.65, action=0.30, kids=0.65, documentary=0.40, horror=0.15, romance=0.60)
_GENRE_BRIGHT = dict(drama=0.40, comedy=0.55, action=0.38, kids=0.62, documentary=0.47, horror=0.25, romance=0.50)
_GENRE_COLOR = dict(drama=0.30, comedy=0.45, action=0.38, kids=0.60, documentary=0.35, horror=0.18, romance=0.40)
_GENRE_TEXT = dict(drama=0.05, comedy=0.06, action=0.06, kids=0.09, documentary=0.10, horror=0.05, romance=0.05)
#: How the direct face effect scales by genre at heterogeneity=1 (positive in drama, negative in documentary).
GENRE_FACE_EFFECT = dict(drama=1.8, comedy=1.0, action=0.9, kids=1.2, documentary=-0.5, horror=0.6, romance=1.5)
_COUNTRY_BASE = dict(US=0.0, BR=0.08, DE=-0.05, GB=-0.02, IN=0.05, JP=-0.08, MX=0.06, FR=-0.04)

#: Catalog columns in the order of features.md.
FEATURES = ("has_face", "n_faces", "face_area", "closeup", "face_thirds", "smile", "brightness", "contrast",
            "colorfulness", "saturation", "warmth", "sharpness", "exposure_clip", "thirds", "symmetry",
            "negative_space", "depth_of_field", "text_area", "has_text")
BINARY = frozenset({"has_face", "closeup", "has_text"})
FACE_FEATURES = frozenset({"n_faces", "face_area", "closeup", "face_thirds", "smile"})

#: Default direct effects on the log take rate, per unit of each feature (0 -> 1 for binary ones).
DEFAULT_EFFECTS: Mapping[str, float] = {
    "has_face": 0.08, "n_faces": -0.02, "face_area": 0.40, "closeup": 0.03, "face_thirds": 0.02, "smile": 0.05,
    "brightness": 0.15, "contrast": 0.0, "colorfulness": 0.10, "saturation": 0.0, "warmth": 0.0,
    "sharpness": 0.05, "exposure_clip": 0.0, "thirds": 0.04, "symmetry": 0.0, "negative_space": 0.0,
    "depth_of_field": 0.0, "text_area": -0.50, "has_text": -0.02,
}

#: The true causal graph among features (besides title covariates -> features and features -> outcome).
TRUE_EDGES = (("has_face", "n_faces"), ("has_face", "face_area"), ("has_face", "face_thirds"), ("has_face", "smile"),
              ("n_faces", "face_area"), ("face_area", "closeup"), ("text_area", "has_text"),
              ("colorfulness", "saturation"), ("brightness", "exposure_clip"))
_DELTA = 0.01  # finite-difference step for continuous features (catalog units)


@dataclass(frozen=True)
class ProgramTruth(ResultMixin):
    """Known causal effects of a simulated programme, on the reported outcome scale.

    Attributes
    ----------
    effects : DataFrame
        One row per feature: ``effect`` (total effect on the log take rate, compared with
        other artwork of the same title; for binary features of switching 0 -> 1, for the
        others per unit), ``pct_change`` (``exp(effect) - 1``, in percent), ``pp_change``
        (absolute change of the take rate in percentage points), ``direct`` (the structural
        coefficient), ``scale`` and ``population`` (which artworks the average is over: face
        features are defined only on artwork with a face).
    by_genre : DataFrame
        The same total effects per genre (``feature``, ``genre``, ``effect``, ``pct_change``).
    mediation : DataFrame
        Natural direct and indirect effects of one more face (``n_faces``) through the
        largest face's area (``face_area`` and its child ``closeup``), on face artworks.
    edges : tuple of (str, str)
        The true edges among features.
    unit_effects : DataFrame
        Each artwork's own effect of each feature (rows: artwork ids; face features NaN on
        artwork without a face), so a truth can be averaged over any population or weights
        (:meth:`effect_over`).

    Notes
    -----
    Effects are computed by simulating the intervention with the programme's own exogenous
    noise: set the feature (or shift it by 0.01 and divide, for continuous features),
    regenerate its descendants, hold everything else. They are sample average effects over
    the programme's artworks, weighted equally (not by impressions).
    """

    effects: pd.DataFrame
    by_genre: pd.DataFrame
    mediation: pd.DataFrame
    edges: tuple[tuple[str, str], ...] = TRUE_EDGES
    unit_effects: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False, compare=False)

    def effect_over(self, feature: str, artworks: Any = None, weights: Any = None) -> float:
        """The true effect of ``feature`` averaged over some artworks, optionally weighted (e.g.
        by impressions, as the estimators weight cells); face features average over the
        artworks with a face among them.

        Examples
        --------
        >>> p = simulate_program(40, random_state=1)
        >>> round(p.truth.effect_over("brightness"), 6) == round(p.truth.effect("brightness"), 6)
        True
        """
        if feature not in self.unit_effects:
            raise UnknownNameError(f"no true effect for {feature!r}.{did_you_mean(str(feature), self.unit_effects.columns)}")
        values = self.unit_effects[feature] if artworks is None else self.unit_effects[feature].reindex(list(artworks))
        w = np.ones(len(values)) if weights is None else np.asarray(weights, dtype=float)
        keep = values.notna().to_numpy()
        if not keep.any():
            return float("nan")
        return float(np.average(values.to_numpy()[keep], weights=w[keep]))

    def effect(self, feature: str, genre: str | None = None) -> float:
        """The true total effect of ``feature`` (log scale), overall or in one genre."""
        table = self.effects if genre is None else self.by_genre[self.by_genre["genre"] == genre]
        if genre is not None and table.empty:
            raise UnknownNameError(f"unknown genre {genre!r}.{did_you_mean(str(genre), self.by_genre['genre'].unique())} "
                                   f"Genres: {list(GENRES)}.")
        rows = table[table["feature"] == feature]
        if rows.empty:
            raise UnknownNameError(f"no true effect for {feature!r}.{did_you_mean(str(feature), self.effects['feature'])}"
                                   f" Features: {list(FEATURES)}.")
        return float(rows["effect"].iloc[0])

    def to_frame(self) -> pd.DataFrame:
        """The per-feature table (a copy)."""
        return self.effects.copy()

    def _card_title(self) -> str:
        return "True effects"

    def plot(self, ax: Any = None) -> Any:
        """The true total effect of every feature (log take rate; binary 0 -> 1, others per unit)."""
        e = self.effects
        return interval_plot(list(e["feature"]), e["effect"], e["effect"], e["effect"], ax, level=None,
                             xlabel="true effect on log take rate (binary 0 -> 1, others per unit)")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe nested dict: effects with their per-genre values, mediation and edges."""
        out: dict[str, Any] = {"scale": "log take rate relative to other artwork of the same title", "effects": {}}
        for row in self.effects.itertuples(index=False):
            genre = self.by_genre[self.by_genre["feature"] == row.feature]
            out["effects"][row.feature] = {
                "effect": round(float(row.effect), 10), "pct_change": round(float(row.pct_change), 10),
                "pp_change": round(float(row.pp_change), 10), "direct": float(row.direct),
                "scale": row.scale, "population": row.population,
                "by_genre": {g: round(float(e), 10) for g, e in zip(genre["genre"], genre["effect"])},
            }
        out["mediation"] = [{k: (round(v, 10) if isinstance(v, float) else v) for k, v in r.items()}
                            for r in self.mediation.to_dict("records")]
        out["edges"] = [list(e) for e in self.edges]
        return json_safe(out)

    def summary(self) -> str:
        """Plain-text table of the true effects."""
        lines = ["True effects (log take rate vs other artwork of the same title)"]
        for r in self.effects.itertuples(index=False):
            lines.append(f"  {r.feature:<15} {r.effect:+.4f}  ({r.pct_change:+.2f}%, {r.scale}; {r.population})")
        return "\n".join(lines)


@dataclass(frozen=True)
class SimulatedProgram:
    """A simulated artwork-testing programme with known causal effects.

    Attributes
    ----------
    cells : DataFrame
        One row per (test, cell) exactly as an A/B system exports it: ``test_id``,
        ``cell_id``, ``artwork_id``, ``title_id``, ``is_control``, ``planned_share``,
        ``impressions``, ``plays``, ``genre``, ``country``, ``popularity``.
    artworks : DataFrame
        The feature table, indexed by ``artwork_id``, with the catalog's columns.
    titles : DataFrame
        One row per title: ids, genre, country, popularity, cells, baseline take rate and
        whether a sample-ratio mismatch was injected.
    truth : ProgramTruth
        The true effects.
    latent : DataFrame
        Hidden variables per artwork (never pass these to an estimator): style ``S``,
        unobserved confounder ``U``, star power ``V`` and the true log take probability ``eta``.
    config : dict
        Every argument of :func:`simulate_program`, with the seed actually used.
    """

    cells: pd.DataFrame
    artworks: pd.DataFrame
    titles: pd.DataFrame
    truth: ProgramTruth
    latent: pd.DataFrame
    config: dict[str, Any] = field(default_factory=dict)

    def ab_results(self, *, check_srm: bool = True):  # noqa: ANN201  (ABResults; imported lazily)
        """The cells as validated :class:`~creative_causal.ABResults` (``check_srm``: warn about
        sample-ratio mismatches, as :meth:`ABResults.from_frame` does)."""
        from ..experiments import ABResults

        return ABResults.from_frame(self.cells, source=f"simulate_program(random_state={self.config['random_state']})",
                                    check_srm=check_srm)

    def study_data(self, *, check_srm: bool = True):  # noqa: ANN201  (StudyData)
        """A/B results joined with the features: the analysis table."""
        return self.ab_results(check_srm=check_srm).join(self.artworks)

    def __repr__(self) -> str:
        return (f"SimulatedProgram({len(self.titles)} titles, {len(self.cells)} cells, "
                f"random_state={self.config['random_state']}; true has_face effect "
                f"{self.truth.effect('has_face'):+.4f})")


def simulate_program(
    n_titles: int = 300,
    *,
    cells_per_test: tuple[int, int] = (2, 6),
    impressions_per_cell: float = 20_000,
    effects: Mapping[str, float] | None = None,
    heterogeneity: float = 1.0,
    confounding: float = 1.0,
    title_confounding: float = 1.0,
    artwork_confounding: float = 1.0,
    unobserved_confounding: float = 0.0,
    cell_noise: float = 0.04,
    effect_propensity: float = 0.0,
    nonlinear_confounding: float = 0.0,
    extra_covariates: int = 0,
    single_cell_share: float = 0.0,
    srm_share: float = 0.0,
    srm_size: float = 0.10,
    random_state: Any = None,
    seed: int | None = None,
) -> SimulatedProgram:
    """Simulate an artwork-testing programme whose causal effects are known.

    Each title has one A/B test comparing 2 to 6 artworks; each artwork has the catalog's
    features (features.md); plays are binomial draws from a take probability that depends
    on the title and on the features.

    Parameters
    ----------
    n_titles : int, default=300
        Titles, hence tests.
    cells_per_test : (int, int), default=(2, 6)
        Smallest and largest number of cells (artworks) per test, drawn uniformly.
    impressions_per_cell : float, default=20000
        Median impressions per cell (test sizes vary log-normally around it).
    effects : mapping, optional
        Direct effect of each feature on the log take rate (per unit; 0 -> 1 for binary
        features), overriding :data:`DEFAULT_EFFECTS`. Any can be zero.
    heterogeneity : float, default=1.0
        How much the face effect differs by genre (0: the same everywhere; 1: positive in
        drama, negative in documentary, see :data:`GENRE_FACE_EFFECT`).
    confounding : float, default=1.0
        Multiplies both confounding strengths below (0 turns all measured confounding off).
    title_confounding : float, default=1.0
        Title-level confounding: genre, popularity and hidden star power drive both the art
        (faces, brightness, colour, text) and the baseline take rate.
    artwork_confounding : float, default=1.0
        Artwork-level confounding: within a title, art with faces tends to be brighter and to
        carry less text, through a shared hidden style.
    unobserved_confounding : float, default=0.0
        Strength of a hidden artwork-level cause ``U`` that makes a face more likely and
        lowers take rate (say, cheap stock portraits), for testing sensitivity analysis: the
        estimate of ``has_face`` is biased downwards, more so as it grows.
    cell_noise : float, default=0.04
        Standard deviation of artwork appeal not explained by features (log scale).
    effect_propensity : float, default=0.0
        How much the face effect grows with the artwork's propensity to have a face: the
        direct face effect is multiplied by ``1 + effect_propensity * (2 p - 1)`` where ``p`` is
        that propensity from its measured drivers (genre, popularity, and brightness and the
        extra covariates when they act; the hidden ones held at 0), within [0, 2] at 1 and
        [-2, 4] at 3. Then the partially linear coefficient, which weights artworks by how
        unpredictable their treatment is, and the average effect differ. The effect grows
        with measured drivers only, so the average effect stays identified: were it to grow
        with the hidden ones too (star power, the title's taste for faces), which also decide
        whether a face is used, no estimator that sees only the data could recover it.
    nonlinear_confounding : float, default=0.0
        Adds a confounder that acts nonlinearly: a poster's brightness driver raises both the
        chance of a face (quadratically) and take rate (through a sine), so models linear in
        the confounders are biased and flexible ones are not.
    extra_covariates : int, default=0
        Artwork-level covariates ``cov_1 ... cov_k`` (standard normal) that confound the face
        effect weakly and linearly, as the many small covariates of real data do (their own
        generator: the rest of the programme is the same as without them).
    single_cell_share : float, default=0.0
        Share of titles tested with a single cell (no within-test comparison possible).
    srm_share, srm_size : float
        Share of tests with an injected sample-ratio mismatch, and its size (the last cell
        receives ``1 - srm_size`` of its planned share).
    random_state : int, Generator or None
        Seed of the local random generator (the global one is never touched). The integer
        seed actually used is recorded in ``config['random_state']``, so every programme can
        be rebuilt.
    seed : int, optional
        Deprecated alias of ``random_state`` (removed in 0.3; issues a FutureWarning).

    Returns
    -------
    SimulatedProgram

    Examples
    --------
    >>> p = simulate_program(60, random_state=1)
    >>> p.cells.shape[0] == p.artworks.shape[0]
    True
    >>> p.truth.effect("has_face") == simulate_program(60, random_state=1).truth.effect("has_face")
    True
    """
    if seed is not None:
        if random_state is not None:
            raise InvalidParameterError("pass random_state= only (seed= is its deprecated alias), not both.")
        warnings.warn("simulate_program(seed=...) is deprecated and will be removed in 0.3; use random_state=...",
                      FutureWarning, stacklevel=2)
        random_state = seed
    n_titles, effects = _check_args(n_titles, cells_per_test, impressions_per_cell, effects, single_cell_share,
                                    srm_share, srm_size, heterogeneity=heterogeneity, confounding=confounding,
                                    title_confounding=title_confounding, artwork_confounding=artwork_confounding,
                                    unobserved_confounding=unobserved_confounding, cell_noise=cell_noise,
                                    effect_propensity=effect_propensity, nonlinear_confounding=nonlinear_confounding)
    extra_covariates = check_int(extra_covariates, "extra_covariates", minimum=0, maximum=1000)
    seed = draw_seed(random_state, bits=32)
    config = dict(n_titles=n_titles, cells_per_test=list(cells_per_test), impressions_per_cell=impressions_per_cell,
                  effects=dict(effects), heterogeneity=heterogeneity, confounding=confounding,
                  title_confounding=title_confounding, artwork_confounding=artwork_confounding,
                  unobserved_confounding=unobserved_confounding, cell_noise=cell_noise,
                  effect_propensity=effect_propensity, nonlinear_confounding=nonlinear_confounding,
                  extra_covariates=extra_covariates, single_cell_share=single_cell_share, srm_share=srm_share,
                  srm_size=srm_size, random_state=seed)
    rng = np.random.default_rng(seed)
    tc = confounding * title_confounding
    ac = confounding * artwork_confounding

    # ---- titles
    genre = rng.choice(len(GENRES), size=n_titles, p=GENRE_SHARE)
    country = rng.choice(len(COUNTRIES), size=n_titles, p=COUNTRY_SHARE)
    popularity = rng.normal(size=n_titles)
    star = rng.normal(size=n_titles)
    low, high = cells_per_test
    k = rng.integers(low, high + 1, size=n_titles)
    k = np.where(rng.random(n_titles) < single_cell_share, 1, k)
    srm = rng.random(n_titles) < srm_share
    title_noise = rng.normal(scale=0.25, size=n_titles)
    title_face = rng.normal(scale=1.0, size=n_titles)
    title_style = rng.normal(size=(n_titles, 8))
    title_text = rng.gamma(2.0, 0.5, size=n_titles)

    # ---- artworks (one per cell)
    t = np.repeat(np.arange(n_titles), k)
    n = t.size
    g = np.array(GENRES)[genre[t]]
    noise = {
        "S": rng.normal(size=n), "U": rng.normal(size=n), "face": rng.logistic(size=n),
        "crowd": rng.poisson(np.array([_GENRE_CROWD[x] for x in g])),
        "area": rng.normal(size=n), "thirds_pos": rng.beta(4, 2, size=n), "smile": rng.random(size=n),
        "z": rng.normal(size=(n, 10)), "cell": rng.normal(scale=cell_noise, size=n),
    }
    # extra covariates come from a generator of their own, so the rest of the programme is unchanged
    covariates = np.random.default_rng([seed, 1]).normal(size=(n, extra_covariates)) if extra_covariates else None
    ctx = dict(g=g, popularity=popularity[t], star=star[t], title_face=title_face[t], style=title_style[t],
               text=title_text[t], country=np.array(COUNTRIES)[country[t]], title_noise=title_noise[t],
               tc=tc, ac=ac, u=unobserved_confounding, heterogeneity=heterogeneity, effects=effects,
               effect_propensity=effect_propensity, nonlinear=nonlinear_confounding, covariates=covariates)
    world = _structural(ctx, noise)

    # ---- impressions and plays
    planned = 1.0 / k[t]
    cell_index = np.concatenate([np.arange(m) for m in k])
    actual = planned.copy()
    last = cell_index == k[t] - 1
    actual = np.where(srm[t] & last & (k[t] > 1), planned * (1 - srm_size), actual)
    actual = actual / np.bincount(t, weights=actual)[t]
    totals = np.round(k * impressions_per_cell * rng.lognormal(0.0, 0.5, size=n_titles)).astype(np.int64)
    impressions = np.empty(n, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(k)[:-1]])
    for i in range(n_titles):
        sl = slice(starts[i], starts[i] + k[i])
        impressions[sl] = rng.multinomial(totals[i], actual[sl])
    impressions = np.maximum(impressions, 1)
    prob = np.minimum(np.exp(world["eta"]), 0.9)
    plays = rng.binomial(impressions, prob)

    title_ids = np.array([f"T{i + 1:04d}" for i in range(n_titles)])
    test_ids = np.array([f"AB-{i + 1:04d}" for i in range(n_titles)])
    artwork_ids = np.array([f"{title_ids[i]}-A{j + 1}" for i, j in zip(t, cell_index)])
    cells = pd.DataFrame({
        "test_id": test_ids[t], "cell_id": cell_index + 1, "artwork_id": artwork_ids, "title_id": title_ids[t],
        "is_control": cell_index == 0, "planned_share": planned, "impressions": impressions, "plays": plays,
        "genre": g, "country": ctx["country"], "popularity": np.round(popularity[t], 6),
    })
    artworks = pd.DataFrame({f: world[f] for f in FEATURES}, index=pd.Index(artwork_ids, name="artwork_id"))
    for j in range(extra_covariates):
        artworks[f"cov_{j + 1}"] = np.round(covariates[:, j], 6)
    for f in ("has_face", "n_faces", "closeup", "has_text"):
        artworks[f] = artworks[f].astype(np.int64)
    base_eta = np.log(0.045) + 0.30 * popularity + np.array([_GENRE_BASE[x] for x in np.array(GENRES)[genre]]) \
        + np.array([_COUNTRY_BASE[c] for c in np.array(COUNTRIES)[country]]) + tc * 0.15 * star + title_noise
    titles = pd.DataFrame({"title_id": title_ids, "test_id": test_ids, "genre": np.array(GENRES)[genre],
                           "country": np.array(COUNTRIES)[country], "popularity": popularity, "n_cells": k,
                           "baseline_take_rate": np.exp(base_eta), "injected_srm": srm & (k > 1)})
    latent = pd.DataFrame({"S": noise["S"], "U": noise["U"], "V": star[t], "eta": world["eta"]},
                          index=pd.Index(artwork_ids, name="artwork_id"))
    truth = _truth(ctx, noise, world, artwork_ids)
    return SimulatedProgram(cells=cells, artworks=artworks, titles=titles, truth=truth, latent=latent, config=config)


def _check_args(n_titles: Any, cells_per_test: Any, impressions_per_cell: Any, effects: Any, single_cell_share: Any,
                srm_share: Any, srm_size: Any, **strengths: Any) -> tuple[int, dict[str, float]]:
    n_titles = check_int(n_titles, "n_titles", minimum=1)
    if (not isinstance(cells_per_test, (tuple, list)) or len(cells_per_test) != 2
            or not all(isinstance(v, numbers.Integral) for v in cells_per_test)
            or not 1 <= cells_per_test[0] <= cells_per_test[1]):
        raise InvalidParameterError(f"cells_per_test must be (low, high) whole numbers with 1 <= low <= high, got "
                                    f"{cells_per_test!r}.")
    check_positive(impressions_per_cell, "impressions_per_cell")
    for name, value in (("single_cell_share", single_cell_share), ("srm_share", srm_share), ("srm_size", srm_size)):
        if not isinstance(value, numbers.Real) or not 0 <= value < 1:
            raise InvalidParameterError(f"{name} must be a share in [0, 1), got {value!r}.")
    for name, value in strengths.items():
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 <= value < 1e6:
            raise InvalidParameterError(f"{name} must be a number of at least 0 (1 is the default strength), got "
                                        f"{value!r}.")
    merged = dict(DEFAULT_EFFECTS)
    if effects is not None and not isinstance(effects, Mapping):
        raise InvalidParameterError(f"effects must be a mapping of feature -> effect, got {type(effects).__name__}.")
    for name, value in (effects or {}).items():
        if name not in DEFAULT_EFFECTS:
            raise UnknownNameError(f"unknown feature {name!r} in effects.{did_you_mean(str(name), DEFAULT_EFFECTS)} "
                                   f"Known features: {list(DEFAULT_EFFECTS)}.")
        if not isinstance(value, numbers.Real) or not np.isfinite(float(value)):
            raise InvalidParameterError(f"effects[{name!r}] must be a finite number, got {value!r}.")
        merged[name] = float(value)
    return n_titles, merged


def _covariate_weights(k: int, size: float) -> np.ndarray:
    """Fixed, alternating weights of the extra covariates, scaled so their sum has sd ``size``."""
    return size * np.where(np.arange(k) % 2 == 0, 1.0, -0.5) / np.sqrt(max(k, 1) * 0.625)


def _lookup(table: Mapping[str, float], g: np.ndarray) -> np.ndarray:
    return np.array([table[x] for x in g]) if g.size else np.zeros(0)


def _structural(ctx: dict[str, Any], noise: dict[str, np.ndarray], do: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """Generate features and eta in causal order; ``do`` overrides a variable (scalar or array)
    right after it is generated, so its descendants follow the intervened value."""
    do = do or {}
    tc, ac, u = ctx["tc"], ctx["ac"], ctx["u"]
    g, z, S, sty = ctx["g"], noise["z"], noise["S"], ctx["style"]
    n = g.size
    w: dict[str, np.ndarray] = {}

    def put(name: str, value: np.ndarray) -> np.ndarray:
        w[name] = np.broadcast_to(np.asarray(do[name], dtype=float), (n,)).copy() if name in do else value
        return w[name]

    # the chance of a face: its measured drivers (genre, popularity; below, brightness and the extra
    # covariates), then hidden ones (star power, the title's taste for faces, the art's style, U)
    measured = 0.2 + tc * _lookup(_GENRE_FACE, g) + tc * 0.5 * ctx["popularity"]
    logit = measured + tc * 0.8 * ctx["star"] + ctx["title_face"] + ac * 1.0 * S + u * noise["U"]
    # the brightness driver before clipping: a poster's lighting, which the nonlinear confounder acts through
    lighting = 0.45 + tc * (_lookup(_GENRE_BRIGHT, g) - 0.45) + 0.07 * sty[:, 0] + 0.05 * z[:, 0] + ac * 0.05 * S
    if ctx.get("nonlinear"):
        bend = ctx["nonlinear"] * (60.0 * (lighting - 0.45) ** 2 - 0.6)
        logit, measured = logit + bend, measured + bend
    if ctx.get("covariates") is not None:
        lean = ac * ctx["covariates"] @ _covariate_weights(ctx["covariates"].shape[1], 0.6)
        logit, measured = logit + lean, measured + lean
    face = put("has_face", (logit + noise["face"] > 0).astype(float))
    nf = put("n_faces", face * (1.0 + np.minimum(noise["crowd"], 7)))
    area = np.clip(0.07 * np.maximum(nf, 1.0) ** -0.6 * np.exp(0.5 * noise["area"]), 0.003, 0.6)
    area = put("face_area", np.where(face > 0, area, 0.0))
    put("closeup", (area >= 0.05).astype(float))
    put("face_thirds", face * noise["thirds_pos"])
    mean = 0.4 + tc * (_lookup(_GENRE_SMILE, g) - 0.4)
    put("smile", face * np.clip(mean + 0.25 * (noise["smile"] - 0.5) * 2, 0.0, 1.0))
    put("brightness", np.clip(lighting, 0.02, 0.98))
    put("contrast", np.clip(0.35 + 0.05 * sty[:, 1] + 0.06 * z[:, 1], 0.0, 1.0))
    colour = put("colorfulness", np.clip(0.35 + tc * (_lookup(_GENRE_COLOR, g) - 0.35) + 0.07 * sty[:, 2]
                                         + 0.06 * z[:, 2], 0.0, 1.0))
    put("saturation", np.clip(0.3 + 0.6 * (colour - 0.35) + 0.05 * z[:, 3], 0.0, 1.0))
    put("warmth", np.clip(0.05 + 0.12 * sty[:, 3] + 0.15 * z[:, 4], -1.0, 1.0))
    put("sharpness", np.clip(0.6 + 0.05 * sty[:, 4] + 0.1 * z[:, 5], 0.0, 1.0))
    put("exposure_clip", np.clip(0.02 + 0.02 * np.abs(z[:, 6]) + 0.15 * np.maximum(0.3 - w["brightness"], 0.0), 0.0, 1.0))
    put("thirds", np.clip(0.45 + 0.05 * sty[:, 5] + 0.1 * z[:, 7], 0.0, 1.0))
    put("symmetry", np.clip(0.5 + 0.1 * sty[:, 6] + 0.12 * z[:, 8], 0.0, 1.0))
    put("negative_space", np.clip(0.45 + 0.08 * sty[:, 7] + 0.1 * z[:, 9], 0.0, 1.0))
    put("depth_of_field", np.clip(0.3 + 0.08 * sty[:, 4] + 0.1 * z[:, 3] * 0.5 + ac * 0.05 * S, 0.0, 1.0))
    text_base = 0.06 + tc * (_lookup(_GENRE_TEXT, g) - 0.06)
    text = put("text_area", np.clip(text_base * ctx["text"] + 0.02 * z[:, 9] - ac * 0.025 * S, 0.0, 0.6))
    put("has_text", (text >= 0.01).astype(float))

    beta = ctx["effects"]
    eta = (np.log(0.045) + 0.30 * ctx["popularity"] + _lookup(_GENRE_BASE, g) + _lookup(_COUNTRY_BASE, ctx["country"])
           + tc * 0.15 * ctx["star"] + ctx["title_noise"] - 0.04 * u * noise["U"] + noise["cell"])
    face_scale = 1.0 + ctx["heterogeneity"] * (_lookup(GENRE_FACE_EFFECT, g) - 1.0)
    if ctx.get("effect_propensity"):
        propensity = 1.0 / (1.0 + np.exp(-measured))  # P(face) given the measured drivers, hidden ones at 0
        face_scale = face_scale * (1.0 + ctx["effect_propensity"] * (2.0 * propensity - 1.0))
    if ctx.get("nonlinear"):
        eta = eta + ctx["nonlinear"] * 0.06 * np.sin(25.0 * (lighting - 0.45))
    if ctx.get("covariates") is not None:
        eta = eta + ctx["covariates"] @ _covariate_weights(ctx["covariates"].shape[1], 0.03)
    eta = eta + beta["has_face"] * face_scale * w["has_face"]
    for name in FEATURES:
        if name != "has_face":
            eta = eta + beta[name] * w[name]
    w["eta"] = eta
    return w


def _truth(ctx: dict[str, Any], noise: dict[str, np.ndarray], world: dict[str, np.ndarray],
           ids: np.ndarray) -> ProgramTruth:
    g = ctx["g"]
    face = world["has_face"] > 0
    rows, genre_rows = [], []
    units: dict[str, np.ndarray] = {}
    for name in FEATURES:
        if name in BINARY:
            lo, hi = _structural(ctx, noise, {name: 0.0}), _structural(ctx, noise, {name: 1.0})
            scale, width = "0 -> 1", 1.0
        elif name == "n_faces":
            lo, hi = world, _structural(ctx, noise, {name: world[name] + 1.0})
            scale, width = "per face", 1.0
        else:
            lo = _structural(ctx, noise, {name: world[name] - _DELTA / 2})
            hi = _structural(ctx, noise, {name: world[name] + _DELTA / 2})
            scale, width = "per unit", _DELTA
        mask = face if name in FACE_FEATURES else np.ones(g.size, dtype=bool)
        d_eta = (hi["eta"] - lo["eta"]) / width
        units[name] = np.where(mask, d_eta, np.nan)
        d_pp = 100 * (np.minimum(np.exp(hi["eta"]), 0.9) - np.minimum(np.exp(lo["eta"]), 0.9)) / width
        effect = float(d_eta[mask].mean()) if mask.any() else float("nan")
        rows.append(dict(feature=name, effect=effect, pct_change=100 * np.expm1(effect),
                         pp_change=float(d_pp[mask].mean()) if mask.any() else float("nan"),
                         direct=ctx["effects"][name], scale=scale,
                         population="artwork with a face" if name in FACE_FEATURES else "all artwork"))
        for genre in GENRES:
            m = mask & (g == genre)
            e = float(d_eta[m].mean()) if m.any() else float("nan")
            genre_rows.append(dict(feature=name, genre=genre, effect=e, pct_change=100 * np.expm1(e), n_artworks=int(m.sum())))
    # Mediation of one more face through the largest face's area (face_area, and closeup below it).
    more = world["n_faces"] + 1.0
    both = _structural(ctx, noise, {"n_faces": more})
    direct = _structural(ctx, noise, {"n_faces": more, "face_area": world["face_area"]})
    total_e = float((both["eta"] - world["eta"])[face].mean())
    direct_e = float((direct["eta"] - world["eta"])[face].mean())
    mediation = pd.DataFrame([dict(treatment="n_faces", mediator="face_area", total=total_e, direct=direct_e,
                                   indirect=total_e - direct_e,
                                   proportion_mediated=(total_e - direct_e) / total_e if total_e else float("nan"),
                                   population="artwork with a face")])
    return ProgramTruth(effects=pd.DataFrame(rows), by_genre=pd.DataFrame(genre_rows), mediation=mediation,
                        unit_effects=pd.DataFrame(units, index=pd.Index(ids, name="artwork_id")))


def truth_to_json(truth: ProgramTruth, config: Mapping[str, Any]) -> str:
    """Serialise a programme's truth and configuration (for ``data/synthetic/truth.json``)."""
    return json.dumps({"config": dict(config), **truth.to_dict()}, indent=2, sort_keys=False) + "\n"
