"""Every bad input named in the foundation issue gives an ExperimentDataError that names the
column, the rows and the fix; good input is never modified."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creative_causal import ABResults, ExperimentDataError, read_ab_results


def test_valid_table_loads_and_caller_frame_is_untouched(cells):
    before = cells.copy()
    ab = ABResults.from_frame(cells)
    pd.testing.assert_frame_equal(cells, before)
    assert (ab.n_tests, ab.n_cells) == (3, 6)
    assert ab.covariates == ("genre",)
    copy = ab.cells
    copy.loc[0, "plays"] = -1  # a copy: the object cannot be changed from outside
    assert ab.cells.loc[0, "plays"] == 500


def test_error_is_a_value_error(cells):
    with pytest.raises(ValueError):
        ABResults.from_frame(cells.drop(columns="plays"))


def test_missing_column_has_did_you_mean(cells):
    bad = cells.rename(columns={"impressions": "impresions"})
    with pytest.raises(ExperimentDataError, match=r"'impressions'.*not found.*Did you mean 'impresions'.*impressions="):
        ABResults.from_frame(bad)


def test_custom_column_names_are_mapped(cells):
    renamed = cells.rename(columns={"test_id": "exp", "cell_id": "arm", "artwork_id": "image",
                                    "impressions": "imps", "plays": "clicks"})
    ab = ABResults.from_frame(renamed, test="exp", cell="arm", artwork="image", impressions="imps", plays="clicks")
    assert ab.to_frame()[["test_id", "plays"]].iloc[1].tolist() == ["t1", 560]


@pytest.mark.parametrize("value", ["many", None])
def test_non_numeric_counts(cells, value):
    bad = cells.astype({"plays": object})
    bad.loc[[2, 4], "plays"] = value
    with pytest.raises(ExperimentDataError, match=r"'plays' is not numeric.*rows 2, 4\."):
        ABResults.from_frame(bad)


def test_negative_counts(cells):
    bad = cells.copy()
    bad.loc[3, "impressions"] = -5
    with pytest.raises(ExperimentDataError, match=r"'impressions' is negative in row 3\."):
        ABResults.from_frame(bad)


def test_fractional_counts(cells):
    bad = cells.astype({"plays": float})
    bad.loc[0, "plays"] = 0.05
    with pytest.raises(ExperimentDataError, match=r"not a whole number.*pass counts"):
        ABResults.from_frame(bad)


def test_plays_above_impressions(cells):
    bad = cells.copy()
    bad.loc[1, "plays"] = 20_000
    with pytest.raises(ExperimentDataError, match=r"'plays' is larger than 'impressions' in row 1\..*swapped"):
        ABResults.from_frame(bad)


def test_zero_impressions(cells):
    bad = cells.copy()
    bad.loc[5, ["impressions", "plays"]] = 0
    with pytest.raises(ExperimentDataError, match=r"'impressions' is zero in row 5\..*drop those cells"):
        ABResults.from_frame(bad)


@pytest.mark.parametrize("column", ["test_id", "cell_id", "artwork_id"])
def test_nan_in_key_column(cells, column):
    bad = cells.astype({column: object})
    bad.loc[2, column] = np.nan
    with pytest.raises(ExperimentDataError, match=rf"'{column}' is empty in row 2\."):
        ABResults.from_frame(bad)


def test_duplicate_test_cell(cells):
    bad = pd.concat([cells, cells.iloc[[1]]], ignore_index=True)
    with pytest.raises(ExperimentDataError, match=r"repeats the same \(test, cell\) pair.*\('t1', '2'\).*rows 1, 6\."):
        ABResults.from_frame(bad)


def test_artwork_with_conflicting_covariates(cells):
    bad = cells.copy()
    bad.loc[3, "artwork_id"] = "a"  # artwork 'a' now appears in a drama test and a kids test
    with pytest.raises(ExperimentDataError, match=r"'genre' gives conflicting values for the same artwork \(artworks \['a'\]\)"):
        ABResults.from_frame(bad, covariates=["genre"])


def test_artwork_with_conflicting_title(cells):
    bad = cells.assign(title_id=["x", "x", "x", "y", "y", "z"])
    bad.loc[3, "artwork_id"] = "a"
    with pytest.raises(ExperimentDataError, match=r"'title_id' gives conflicting values"):
        ABResults.from_frame(bad)


def test_audience_column_is_a_segment_not_a_conflict(cells):
    same_art = cells.copy()
    same_art["country"] = ["US", "US", "US", "BR", "BR", "US"]
    same_art.loc[3:4, "artwork_id"] = ["a", "b"]  # the same art tested in Brazil
    same_art["genre"] = "drama"
    ab = ABResults.from_frame(same_art)
    assert ab.segments == ("country",) and ab.covariates == ("genre",)


def test_covariate_varying_within_test(cells):
    bad = cells.copy()
    bad.loc[0, "genre"] = "comedy"
    with pytest.raises(ExperimentDataError, match=r"'genre' differs between cells of the same test \(tests \['t1'\]\)"):
        ABResults.from_frame(bad, covariates=["genre"])


def test_auto_mode_reports_columns_that_vary_within_tests(cells):
    ab = ABResults.from_frame(cells.assign(note=list("uvwxyz")))
    report = ab.report()
    assert report.query("kind == 'ignored_column'")["id"].tolist() == ["note"]


def test_empty_table(cells):
    with pytest.raises(ExperimentDataError, match="empty"):
        ABResults.from_frame(cells.iloc[0:0])


def test_control_flag_checks(cells):
    flagged = cells.assign(is_control=[1, 0, 0, 1, 0, 1])
    assert ABResults.from_frame(flagged).has_control
    two = flagged.copy()
    two.loc[1, "is_control"] = 1
    with pytest.raises(ExperimentDataError, match=r"more than one control cell \(tests \['t1'\]\)"):
        ABResults.from_frame(two)
    none = flagged.copy()
    none.loc[3, "is_control"] = 0
    with pytest.raises(ExperimentDataError, match=r"no control cell \(tests \['t2'\]\)"):
        ABResults.from_frame(none)
    garbage = flagged.astype({"is_control": object})
    garbage.loc[0, "is_control"] = "maybe"
    with pytest.raises(ExperimentDataError, match="yes/no flag"):
        ABResults.from_frame(garbage)


def test_bad_allocation(cells):
    with pytest.raises(ExperimentDataError, match="planned_share.*not positive"):
        ABResults.from_frame(cells.assign(planned_share=[0.3, 0.3, 0.4, 0.5, 0.0, 1.0]))


def test_not_a_dataframe():
    with pytest.raises(TypeError, match="expected a pandas DataFrame"):
        ABResults.from_frame([1, 2, 3])  # type: ignore[arg-type]


def test_csv_errors_name_the_file_and_line(cells, tmp_path):
    bad = cells.copy()
    bad.loc[4, "plays"] = 99_999
    path = tmp_path / "ab.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(ExperimentDataError, match=r"ab\.csv: column 'plays' is larger than 'impressions' in line 6\."):
        read_ab_results(path)


def test_read_csv_and_parquet_agree(cells, tmp_path):
    cells.to_csv(tmp_path / "ab.csv", index=False)
    cells.to_parquet(tmp_path / "ab.parquet")
    a = read_ab_results(tmp_path / "ab.csv").to_frame()
    b = read_ab_results(tmp_path / "ab.parquet").to_frame()
    pd.testing.assert_frame_equal(a, b)


def test_read_missing_and_unknown_files(tmp_path):
    with pytest.raises(ExperimentDataError, match="file not found"):
        read_ab_results(tmp_path / "nope.csv")
    (tmp_path / "ab.xlsx").write_text("x")
    with pytest.raises(ExperimentDataError, match="unknown file type"):
        read_ab_results(tmp_path / "ab.xlsx")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(ExperimentDataError, match="not a Parquet file"):
        read_ab_results(tmp_path / "broken.parquet")
