"""Tests of engine/datasets.py: every shipped table loads, units are right, bad files are named."""

import math
from pathlib import Path

import numpy as np
import pytest

from engine import datasets as D
from engine.errors import ConfigError

SHARED = Path("/work/shared/data")
RTOL_TABLE = 1e-12   # values are copied, only scaled by exact powers of ten


@pytest.mark.parametrize("name", list(D.DATASET_FILES))
def test_every_registered_dataset_loads_tidy(name):
    d = D.load(name)
    assert d.name == name
    assert d.n > 0 and d.x.shape == d.y.shape == d.stat.shape == d.sys.shape == (d.n,)
    assert np.all(np.diff(d.x) >= 0), "x sorted ascending"
    assert np.all(d.x > 0) and np.all(d.y > 0)
    assert np.all(d.stat >= 0) and np.all(d.sys >= 0) and np.all(d.sigma > 0)
    assert {"rigidity": "GV", "Ekn": "GeV/n", "energy": "GeV"}[d.x_kind] == d.x_unit
    assert (d.y_unit == "1") == ("/" in d.quantity)
    assert d.path.is_file()
    assert d.modulated == (d.experiment != "Voyager 1") or "interstellar" in name
    assert d.reference
    with pytest.raises(ValueError):
        d.y[0] = 1.0   # arrays are read-only: a loaded Dataset is shared through the cache


def test_every_shipped_file_is_registered_and_is_a_byte_copy():
    shipped = {str(p.relative_to(D.DATA_DIR)) for p in D.DATA_DIR.rglob("*") if p.is_file()}
    used = set(D.DATASET_FILES.values()) | set(D.COVARIANCE_FILES.values()) | {"README.md"}
    assert shipped == used
    if SHARED.is_dir():
        for rel in shipped:
            assert (D.DATA_DIR / rel).read_bytes() == (SHARED / rel).read_bytes(), rel


@pytest.mark.parametrize("name", [n for n, f in D.DATASET_FILES.items() if f.startswith("ams02/AMS-02_")
                                  and f.endswith("_rigidity.txt") or "kineticEnergy" in f])
def test_kiss_tables_round_trip_against_plain_loadtxt(name):
    raw = np.loadtxt(D.DATA_DIR / D.DATASET_FILES[name], comments="#")
    raw = raw[np.argsort(raw[:, 0], kind="stable")]
    d = D.load(name)
    np.testing.assert_allclose(d.x, raw[:, 0], rtol=RTOL_TABLE)
    np.testing.assert_allclose(d.y, raw[:, 1], rtol=RTOL_TABLE)
    np.testing.assert_allclose(d.stat, 0.5 * (raw[:, 2] + raw[:, 3]), rtol=RTOL_TABLE)
    np.testing.assert_allclose(d.sys, 0.5 * (raw[:, 4] + raw[:, 5]), rtol=RTOL_TABLE)


def test_default_list_excludes_the_preliminary_ams_beryllium():
    from survey.likelihood import DATASETS
    d = D.load("AMS-02 10Be/9Be (preliminary)")
    assert d.validation_only and d.name not in DATASETS
    assert not any(D.load(n).validation_only for n in DATASETS)
    assert "AMS-02 10Be/9Be (preliminary)" not in D.load_all(include_validation=False)


# --- values read by hand from the files, and physical orders of magnitude ---

def test_bc_is_dimensionless_and_about_0p3_near_3_GV():
    d = D.load("AMS-02 B/C")
    i = np.argmin(abs(d.x - 3.0))
    assert d.x[i] == pytest.approx(3.126) and d.y[i] == pytest.approx(0.3142)   # row 5 of the file
    assert d.y_unit == "1" and d.x_unit == "GV" and 0.25 < d.y[i] < 0.35


def test_ams_proton_flux_near_10_GV():
    d = D.load("AMS-02 p")
    i = np.argmin(abs(np.log(d.x / 10.5)))
    assert (d.x[i], d.y[i], d.sys[i]) == pytest.approx((10.54, 21.55, 0.21))     # row "1.054e+01 2.155e+01"
    # Known physics: AMS-02 proton flux at 10 GV is a few tens per (m^2 sr s GV) (Aguilar+15 PRL 114 171103).
    assert d.y_unit == "(m^2 sr s GV)^-1" and 10 < d.y[i] < 50


def test_pbar_table6_factors_applied():
    d = D.load("AMS-02 pbar/p")
    assert d.y[0] == pytest.approx(7.78e-6) and d.stat[0] == pytest.approx(1.04e-6)
    assert d.sys[0] == pytest.approx(0.59e-6)
    assert d.x_lo[0] == 1.0 and d.x_hi[0] == 1.16 and d.x[0] == pytest.approx(math.sqrt(1.16))
    assert d.y[-1] == pytest.approx(1.51e-4)                    # last bin 330-525 GV, factor 1e-4
    assert np.all((d.y[d.x > 10] > 1e-4) & (d.y[d.x > 10] < 3e-4))   # ~2e-4 flat above 10 GV


def test_voyager_cummings_MeV_to_GeV_per_nucleon():
    c = D.load("Voyager C")        # Table 9, first Z=6 row: 5.4-6.4 MeV/n, J = 1.79e-2 (m^2 s sr MeV/n)^-1
    assert c.x[0] == pytest.approx(math.sqrt(5.4 * 6.4) * 1e-3)
    assert c.y[0] == pytest.approx(17.9) and c.stat[0] == pytest.approx(3.04) and c.sys[0] == pytest.approx(0.895)
    assert c.x_unit == "GeV/n" and c.y_unit == "(m^2 sr s GeV/n)^-1" and not c.modulated
    he = D.load("Voyager He")      # Table 8, first row: E_plot 3.8 MeV/n, J = 1.530
    assert he.x[0] == pytest.approx(3.8e-3) and he.y[0] == pytest.approx(1530.0)
    assert he.x_lo[0] == pytest.approx(3.0e-3) and he.x_hi[0] == pytest.approx(4.6e-3)
    # Independent check of the per-MeV -> per-GeV conversion: the CRDB 2012 Voyager He file is already per
    # GeV/n and agrees with Cummings' Table 8 within ~20 % at ~10-50 MeV/n.
    he12 = D.load("Voyager He (2012)")
    ratio = np.interp(np.log(he.x), np.log(he12.x), he12.y) / he.y
    sel = (he.x > 0.01) & (he.x < 0.05)
    assert np.all((ratio[sel] > 0.8) & (ratio[sel] < 1.25))
    assert {D.load(n).n for n in ("Voyager B", "Voyager O")} and all(
        D.load(n).quantity == q for n, q in (("Voyager B", "B"), ("Voyager O", "O")))


def test_voyager_proton_lis_order_of_magnitude():
    p = D.load("Voyager p")        # README: y = 2.0e4 per GeV/n = 20 per MeV/n at 3.7 MeV
    assert p.x[0] == pytest.approx(3.71e-3) and p.y[0] == pytest.approx(2.006e4)
    assert p.stat[0] == pytest.approx(0.5 * (304 + 308)) and p.sys[0] == 0
    assert p.x_kind == "Ekn" and not p.modulated


def test_beryllium_ratios():
    ace, iso = D.load("ACE 10Be/9Be"), D.load("ISOMAX 10Be/9Be")
    assert ace.y.tolist() == [0.115, 0.122] and ace.x_unit == "GeV/n" and ace.modulated
    assert iso.stat.tolist() == [0.036, 0.109] and iso.sys.tolist() == [0.039, 0.042]
    g = D.load("ACE 10Be/9Be (GALPROP, TOA)")
    assert g.n == 3 and g.x[0] == pytest.approx(0.08155) and g.x_lo[0] == pytest.approx(0.070)
    ism = D.load("ACE 10Be/9Be (GALPROP, interstellar)")
    assert ism.n == 1 and ism.x[0] == pytest.approx(0.205) and not ism.modulated
    pre = D.load("AMS-02 10Be/9Be (preliminary)")
    assert pre.stat[0] == pytest.approx(0.5 * (0.18724 - 0.14151))


def test_pbar_covariance_diagonal_matches_flux_errors():
    C = D.load_covariance()
    pbar = D.load("AMS-02 pbar")
    assert C.shape == (58, 58) and pbar.n == 58
    np.testing.assert_allclose(np.diag(C), pbar.stat ** 2 + pbar.sys ** 2, rtol=0.05)


# --- errors ---

def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="AMS-02 B/C") as e:
        D.load("AMS02 B/C")
    assert "Did you mean 'AMS-02 B/C'" in str(e.value)


def _corrupt(tmp_path, name, lineno, new_line):
    src = D.DATA_DIR / D.DATASET_FILES[name]
    lines = src.read_text().splitlines(keepends=True)
    lines[lineno - 1] = new_line + "\n"
    dst = tmp_path / src.name
    dst.write_text("".join(lines))
    return dst


@pytest.mark.parametrize("name, lineno, bad, match", [
    ("AMS-02 B/C", 12, "2.816e+00 3.061e-01 1.000e-03 1.000e-03 1.190e-02", "expected 6 numeric columns"),
    ("AMS-02 p", 20, "8.110e+00 abc 1.000e-02 1.000e-02 4.300e-01 4.300e-01", "non-numeric"),
    ("AMS-02 p", 10, "8.110e+00 -4.1e+01 1.000e-02 1.000e-02 4.300e-01 4.300e-01", "y = -41.0 must be > 0"),
    ("AMS-02 pbar/p", 40, "1.0 1.16 69.0 7.78 1.04 0. 0. 0. 0.59 1e-06 6.41 0.85 0.57", "expected 14"),
    ("Voyager C", 7, "6\t5.4\t6.4\t1.79e-02\tnan\t8.95e-04\t38.0\t1\t13\t87.0\t214.0\t6.96e-04\t8.31e-05"
                     "\t3.48e-05\t85.0\t3", "non-finite"),
    ("Voyager p", 5, "6.95e-03 6.95e-03 6.95e-03 2.2e+04 3.2e+02", "expected 10 numeric columns"),
])
def test_malformed_file_error_names_file_and_line(tmp_path, name, lineno, bad, match):
    path = _corrupt(tmp_path, name, lineno, bad)
    with pytest.raises(D.DataFormatError, match=match) as e:
        D.load(name, path=path)
    msg = str(e.value)
    assert str(path) in msg and f"line {lineno}" in msg
    assert isinstance(e.value, ValueError)


def test_wrong_file_for_a_name_is_caught_by_the_header(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text((D.DATA_DIR / D.DATASET_FILES["AMS-02 He"]).read_text())
    with pytest.raises(D.DataFormatError, match=r"line 4: #Y Quantity is 'He', expected 'H'"):
        D.load("AMS-02 p", path=path)
