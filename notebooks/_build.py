"""Write the tutorial notebooks (without outputs). Run from the repository root:

    python notebooks/_build.py

Each notebook is executed by the test suite (nbmake); keep every one under 90 seconds.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent


def notebook(name: str, cells: list[tuple[str, str]]) -> None:
    nb = new_notebook(cells=[new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in cells])
    for i, cell in enumerate(nb.cells):  # ids from the position, so rebuilding an unchanged notebook changes nothing
        cell["id"] = f"{name[:2]}-{i:02d}"
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, HERE / f"{name}.ipynb")


def main() -> None:
    notebook("01_quickstart", [
        ("md", "# Quickstart: from posters to insights\n\nWe simulate an artwork-testing programme whose true effects "
               "we know, draw a poster for every artwork, extract features **from the pixels**, and ask which "
               "components make people choose a title. Every estimate is shown beside the truth."),
        ("code", "import warnings\nwarnings.simplefilter('ignore')\nimport tempfile\nfrom pathlib import Path\n"
                 "import matplotlib\nmatplotlib.use('Agg')\nimport creative_causal as cc\n"
                 "from creative_causal.datasets import simulate_program, render_posters\n\n"
                 "program = simulate_program(80, random_state=11)   # 80 titles, one A/B test each\n"
                 "program.cells.head()"),
        ("md", "## 1. Posters and features\n\nThe renderer pastes public-domain faces (shipped inside scikit-image and "
               "matplotlib) at the simulated size and position, and sets brightness, colour and text. "
               "`extract_features` reads them back."),
        ("code", "work = Path(tempfile.mkdtemp())\nrender_posters(program.artworks, work / 'posters', size=(300, 450), "
                 "n_jobs=2, random_state=0)\nfeatures = cc.extract_features(work / 'posters', n_jobs=2, progress=False)\n"
                 "print(features.summary())\nfeatures[['has_face', 'n_faces', 'face_area', 'brightness', 'text_area']].head()"),
        ("code", "agree = (features.loc[program.artworks.index, 'has_face'] == program.artworks['has_face']).mean()\n"
                 "print(f'has_face read correctly from the pixels for {agree:.0%} of artworks')"),
        ("md", "## 2. The A/B results\n\nValidated on load; take rates with Wilson intervals; sample-ratio checks."),
        ("code", "ab = cc.ABResults.from_frame(program.cells)\nprint(ab.summary())"),
        ("md", "## 3. One call: the study\n\n`CreativeStudy` joins, estimates every feature within tests with double ML, "
               "controls the false discovery rate, refutes, measures sensitivity and writes a report."),
        ("code", "result = cc.CreativeStudy(ab, features, treatments=['has_face', 'brightness', 'text_area', 'symmetry'],\n"
                 "                          images=work / 'posters', n_jobs=2, random_state=0).run()\n"
                 "print(result.summary())"),
        ("code", "table = result.insights.set_index('feature')\nfor f in table.index:\n"
                 "    r = table.loc[f]\n"
                 "    print(f\"{f:<11} estimate {r.effect:+.3f} ({result.level:.0%} CI {r.ci_low:+.3f} to {r.ci_high:+.3f})  \"\n"
                 "          f\"truth {program.truth.effect(f):+.3f}\")"),
        ("md", "Estimates come from features measured on pixels, so they can differ from the truth, which is defined "
               "on the simulator's own feature values: a measurement that mixes the face into a global colour "
               "statistic, or misses small faces, shows up here."),
        ("code", "report = result.to_html(work / 'report.html')\nprint('open', report)"),
    ])

    notebook("02_graph_and_identification", [
        ("md", "# The causal graph and what to adjust for\n\nThe creative template encodes what we know: title "
               "covariates cause both artwork choices and take rate; derived features (number of faces, face size, "
               "close-up) descend from having a face; an unobserved artwork style links the root features."),
        ("code", "import warnings\nwarnings.simplefilter('ignore')\nimport matplotlib\nmatplotlib.use('Agg')\n"
                 "import creative_causal as cc\nfrom creative_causal.datasets import simulate_program\n\n"
                 "program = simulate_program(200, random_state=3)\nstudy = program.study_data(check_srm=False)\n"
                 "graph = cc.creative_graph(study, 'has_face')\nax = graph.plot(treatment='has_face')"),
        ("code", "adjustment = graph.adjustment_set('has_face', study.outcome)\nprint(adjustment.variables)\n"
                 "adjustment.explanation.head(12)"),
        ("md", "Face size is a **mediator** of the face effect: adjusting for it would remove part of the effect. "
               "The estimator refuses when asked to:"),
        ("code", "try:\n    cc.estimate_effect(study, 'has_face', graph=graph, confounders=['face_area'])\n"
                 "except cc.IdentificationError as error:\n    print(type(error).__name__, ':', str(error)[:200])"),
        ("md", "## Three estimators beside the truth\n\nThe naive pooled comparison mixes artwork with title; "
               "double ML within tests compares artworks of the same title."),
        ("code", "truth = program.truth.effect('has_face')\n"
                 "for label, kwargs in [('naive, pooled', dict(method='naive', design='pooled')),\n"
                 "                      ('OLS with test fixed effects', dict(method='ols')),\n"
                 "                      ('double ML within tests', dict(random_state=0))]:\n"
                 "    e = cc.estimate_effect(study, 'has_face', **kwargs)\n"
                 "    print(f'{label:<28} {e.value:+.3f} ({e.ci_low:+.3f} to {e.ci_high:+.3f})   truth {truth:+.3f}')"),
        ("code", "checks = graph.testable_implications(study)\nchecks.head()"),
    ])

    notebook("03_heterogeneity_and_mediation", [
        ("md", "# Who responds, and through what\n\nThe simulator makes the face effect strongest in drama and "
               "romance and negative in documentaries, and lets the number of faces act partly through face size."),
        ("code", "import warnings\nwarnings.simplefilter('ignore')\nimport matplotlib\nmatplotlib.use('Agg')\n"
                 "import creative_causal as cc\nfrom creative_causal.datasets import simulate_program\n\n"
                 "program = simulate_program(300, random_state=1)\nstudy = program.study_data(check_srm=False)"),
        ("code", "cate = cc.moderation(study, 'has_face', by=['genre'], random_state=0)\n"
                 "truth = program.truth.by_genre.query(\"feature == 'has_face'\").set_index('genre')['effect']\n"
                 "table = cate.table.set_index('segment')[['value', 'ci_low', 'ci_high']]\n"
                 "table['truth'] = [truth.get(s, float('nan')) for s in table.index]\ntable.round(3)"),
        ("code", "cate.moderation"),
        ("md", "## Mediation: does face size explain the face-count effect?"),
        ("code", "m = cc.mediation(study, 'n_faces', 'face_area', random_state=0)\nprint(m.summary())"),
        ("code", "t = program.truth.mediation.iloc[0]\n"
                 "for name in ('total', 'direct', 'indirect'):\n"
                 "    lo, hi = m.effects.loc[name, ['ci_low', 'ci_high']]\n"
                 "    print(f'{name:<9} estimate {m.value(name):+.4f} ({lo:+.4f} to {hi:+.4f})   truth {t[name]:+.4f}')"),
    ])

    notebook("04_refutation_and_sensitivity", [
        ("md", "# Can we trust it? Refutations and sensitivity\n\nFour refutations with plain verdicts, then: how "
               "strong would a hidden confounder have to be? The simulator can add one, so we can watch the bias it "
               "causes and check that the sensitivity analysis would have warned us."),
        ("code", "import warnings\nwarnings.simplefilter('ignore')\nimport matplotlib\nmatplotlib.use('Agg')\n"
                 "import creative_causal as cc\nfrom creative_causal.datasets import simulate_program\n\n"
                 "program = simulate_program(300, random_state=5)\nstudy = program.study_data(check_srm=False)\n"
                 "est = cc.estimate_effect(study, 'has_face', random_state=0)\n"
                 "print(est.summary())\nprint('truth', round(program.truth.effect('has_face'), 4))"),
        ("code", "report = cc.refute(est, study, random_state=0)\nprint(report.summary())\nax = report.plot()"),
        ("md", "A check that *fails*: standard errors that ignore the tests. The cluster bootstrap catches it."),
        ("code", "naive_errors = cc.estimate_effect(study, 'has_face', design='pooled', cluster=None, random_state=0)\n"
                 "print(cc.refute(naive_errors, study, tests=['bootstrap'], random_state=1)['bootstrap'].reason)"),
        ("code", "s = cc.sensitivity(est)\nprint(s.summary())\nax = s.plot()"),
        ("md", "## A hidden confounder of growing strength\n\nIt makes a face more likely and lowers take rate, "
               "so the estimate falls below the truth; the robustness value falls with it."),
        ("code", "for strength in (0.0, 1.0, 2.0):\n"
                 "    p = simulate_program(300, unobserved_confounding=strength, random_state=21)\n"
                 "    e = cc.estimate_effect(p.study_data(check_srm=False), 'has_face', random_state=0)\n"
                 "    s = cc.sensitivity(e)\n"
                 "    print(f'U strength {strength}: estimate {e.value:+.3f}, truth {p.truth.effect(\"has_face\"):+.3f}, '\n"
                 "          f'robustness value {s.robustness_value:.0%}')"),
        ("md", "## Every feature at once"),
        ("code", "found = cc.discover_insights(study, ['has_face', 'brightness', 'text_area', 'symmetry', 'warmth'], "
                 "random_state=0)\nprint(found.summary())"),
    ])
    notebook("05_explore_exploit", [
        ("md", "# Explore and exploit: splitting impressions while a test runs\n\nAn even split (the classic A/B "
               "test) shows weak artwork to as many members as the best one. Adaptive policies move impressions to "
               "the artwork that is winning while they keep learning. The simulator knows every artwork's true take "
               "rate, so we can count the plays each policy loses (its *regret*) and how often it names the right "
               "winner."),
        ("code", "import warnings\nwarnings.simplefilter('ignore')\nimport matplotlib\nmatplotlib.use('Agg')\n"
                 "import creative_causal as cc\n"
                 "from creative_causal.allocation import (FixedSplit, ExploreThenCommit, Thompson, TopTwoThompson, UCB1,\n"
                 "                                        compare_policies, prior_from_study, simulate_allocation,\n"
                 "                                        true_take_rates)\n\n"
                 "program = cc.simulate_program(200, random_state=7)   # 200 tests with known take rates\n"
                 "policies = {'A/B test (even split)': FixedSplit(), 'explore 20k, then commit': "
                 "ExploreThenCommit(explore=20_000),\n"
                 "            'UCB1': UCB1(), 'Thompson': Thompson(), 'top-two Thompson': TopTwoThompson()}\n"
                 "comparison = compare_policies(program, policies, horizon=200_000, batch=10_000, replications=10, "
                 "random_state=0)\nprint(comparison.summary())\nax = comparison.plot()"),
        ("md", "Thompson sampling loses the fewest plays. Top-two Thompson, built to find the winner rather than "
               "earn on the way, sends more impressions to the runner-up: read its right-winner rate against its "
               "cost. The even split pays for every impression. Per test, the closest contests first:"),
        ("code", "result = comparison.results['Thompson']\nresult.to_frame().sort_values('gap').head()"),
        ("md", "## Late feedback and a floor\n\nA daily job sees yesterday's plays: `delay` refreshes. A floor "
               "(`min_share`) keeps every artwork in the mix, which later analysis needs."),
        ("code", "for delay in (0, 3):\n"
                 "    r = simulate_allocation(program, Thompson(min_share=0.05), horizon=200_000, batch=10_000, "
                 "delay=delay,\n"
                 "                            replications=5, random_state=0)\n"
                 "    print(f'delay {delay}:', r.summary().splitlines()[1].strip())"),
        ("md", "## Causal priors: a new artwork does not start from nothing\n\nA study of past tests says which "
               "features raise take rate. `prior_from_study` turns its reliable effects into a Beta prior per new "
               "artwork, centred on the take rate its features predict and as strong as the study is sure."),
        ("code", "past = cc.simulate_program(300, random_state=8)\n"
                 "effects = cc.discover_insights(past.study_data(check_srm=False), ['has_face', 'smile', 'brightness', "
                 "'text_area'],\n"
                 "                               refute=False, random_state=0).table\n"
                 "tests, rates, active = true_take_rates(program)\n"
                 "baseline = {t: rates[i][active[i]].mean() for i, t in enumerate(tests)}   # the title's history\n"
                 "artworks = program.cells[['test_id', 'artwork_id']].merge(program.artworks, left_on='artwork_id', "
                 "right_index=True)\n"
                 "priors = prior_from_study(effects, artworks, baseline_rate=artworks['test_id'].map(baseline).to_numpy())\n"
                 "for name, prior in {'flat prior': None, 'causal prior': priors}.items():\n"
                 "    r = simulate_allocation(program, Thompson(), horizon=50_000, batch=5_000, replications=5, "
                 "priors=prior, random_state=0)\n"
                 "    print(f'{name:<13} regret after 10 000 impressions per test: {r.regret[..., 1].sum(axis=1).mean():,.0f}')"),
        ("md", "## Segments: a policy per segment, pooled\n\nFamilies may prefer the artwork with a face and other "
               "members the one without. `segments=` gives the simulator member segments that respond differently "
               "(a share of impressions and shifts of the log take rate per feature); `Contextual` runs one policy "
               "per segment and pools what the segments share, as much as the data say they agree."),
        ("code", "from creative_causal.allocation import Contextual\n\n"
                 "segments = {'families': {'share': 0.35, 'has_face': 0.5, 'smile': 0.4},\n"
                 "            'others': {'share': 0.65, 'has_face': -0.3, 'text_area': 1.5}}\n"
                 "by_segment = compare_policies(program, {'one Thompson for all': Thompson(), 'per segment, pooled': "
                 "Contextual()},\n"
                 "                              horizon=40_000, batch=4_000, replications=3, segments=segments, "
                 "random_state=0)\nprint(by_segment.summary())"),
        ("md", "## Judging a policy on impressions already logged\n\nWould Thompson sampling have done better "
               "than the A/B split we ran? `evaluate_policy` answers from the impression log, without serving a "
               "single new impression. A policy object is run along the log and learns at each of its refreshes."),
        ("code", "from creative_causal.allocation import evaluate_policy, simulate_impression_log\n\n"
                 "log = simulate_impression_log(program, impressions=20_000, batch=2_000, random_state=1)  # an A/B "
                 "test's log\n"
                 "print(evaluate_policy(log, Thompson(), method='dr', random_state=0).summary())"),
        ("md", "## What an adaptive split would have done in the tests we ran\n\n`replay_tests` needs only each "
               "cell's impressions and plays: it replays every finished test under Thompson sampling, with take "
               "rates drawn from what the tests measured, and says it in words a creative team uses (the study "
               "report has the same section)."),
        ("code", "from creative_causal.allocation import replay_tests\n\n"
                 "replay = replay_tests(program.cells, replications=50, random_state=0)\n"
                 "print(replay.summary())\nax = replay.plot()"),
    ])
    print("wrote", sorted(p.name for p in HERE.glob("*.ipynb")))


if __name__ == "__main__":
    main()
