"""Observational CR datasets shipped in ``engine/data/``: one loader, one tidy form [physics spec Sec. 12].

Every table in ``engine/data/`` (a verbatim copy of ``shared/data``; provenance in
``engine/data/README.md``) is read by :func:`load` into a frozen :class:`Dataset` with explicit
units. Conversions happen once, here, at the boundary:

* Cummings et al. (2016) Voyager tables are given per MeV/n; they are converted to
  x = kinetic energy per nucleon [GeV/n] and y = intensity per GeV/n (J_GeV = 1e3 J_MeV).
* The AMS-02 Table-6 pbar/p file carries scale factors; they are multiplied in.
* Asymmetric 1-sigma errors are symmetrised as the mean of the lower and upper errors (they are
  symmetric in every AMS-02 file; they differ by < 3 % in the Voyager 2012 CRDB files).

A malformed file raises :class:`DataFormatError` naming the file and line.
"""

from dataclasses import dataclass, field
import functools
import math
from pathlib import Path

import numpy as np

from .errors import ConfigError, DataFormatError

__all__ = [
    "Dataset", "DataFormatError", "DATA_DIR", "DATASET_FILES", "COVARIANCE_FILES", "QUANTITIES",
    "load", "load_all", "load_covariance",
]

#: Directory holding the shipped tables (package data).
DATA_DIR = Path(__file__).resolve().parent / "data"

#: Observable names as in docs/interfaces.md (plus names of shipped tables with no engine observable).
QUANTITIES = ("B/C", "pbar/p", "10Be/9Be", "e+/(e+ + e-)", "p", "He", "C", "N", "O", "B", "pbar",
              "e-", "e+")

_X_UNIT = {"rigidity": "GV", "Ekn": "GeV/n", "energy": "GeV"}
_FLUX_UNIT = {"rigidity": "(m^2 sr s GV)^-1", "Ekn": "(m^2 sr s GeV/n)^-1", "energy": "(m^2 sr s GeV)^-1"}
_GEV_PER_MEV = 1e-3


@dataclass(frozen=True, eq=False)
class Dataset:
    """One observed spectrum or ratio, tidy and in explicit units.

    Attributes
    ----------
    name : registry name, e.g. ``"AMS-02 B/C"``.
    quantity : observable name as in docs/interfaces.md (``"B/C"``, ``"p"``, ``"10Be/9Be"``, ...).
    experiment : ``"AMS-02"``, ``"Voyager 1"``, ``"ACE-CRIS"``, ``"ISOMAX"``, ...
    x : (n,) representative bin abscissa, ascending, in ``x_unit``.
    x_unit : ``"GV"``, ``"GeV/n"`` or ``"GeV"``.
    x_kind : ``"rigidity"``, ``"Ekn"`` (kinetic energy per nucleon) or ``"energy"`` (kinetic energy).
    y : (n,) flux in ``y_unit`` or a dimensionless ratio (``y_unit == "1"``).
    y_unit : e.g. ``"(m^2 sr s GV)^-1"``.
    stat, sys : (n,) 1-sigma absolute uncertainties on y (symmetrised).
    modulated : True for top-of-atmosphere data (AMS-02, ACE, ISOMAX), False for the Voyager 1 LIS.
    reference : publication (and compilation) the numbers come from.
    source_file : path relative to ``engine/data/`` (or the absolute path of a non-shipped file).
    x_lo, x_hi : (n,) bin edges in ``x_unit`` where the table gives them, else None.
    epoch : observation period as given in the file.
    validation_only : True for data that must not enter a likelihood (preliminary, old compilations).
    """

    name: str
    quantity: str
    experiment: str
    x: np.ndarray
    x_unit: str
    x_kind: str
    y: np.ndarray
    y_unit: str
    stat: np.ndarray
    sys: np.ndarray
    modulated: bool
    reference: str
    source_file: str
    x_lo: np.ndarray | None = None
    x_hi: np.ndarray | None = None
    epoch: str = ""
    validation_only: bool = False

    def __post_init__(self):
        n = len(self.x)
        for f in ("x", "y", "stat", "sys", "x_lo", "x_hi"):
            a = getattr(self, f)
            if a is None:
                continue
            a = np.array(a, dtype=np.float64)
            if a.shape != (n,):
                raise ValueError(f"Dataset {self.name!r}: {f} has shape {a.shape}, expected ({n},)")
            a.setflags(write=False)
            object.__setattr__(self, f, a)
        if self.x_kind not in _X_UNIT or _X_UNIT[self.x_kind] != self.x_unit:
            raise ValueError(f"Dataset {self.name!r}: x_kind={self.x_kind!r} with x_unit={self.x_unit!r}; "
                             f"expected one of {_X_UNIT}")

    @property
    def n(self):
        """Number of points."""
        return len(self.x)

    @property
    def sigma(self):
        """Total 1-sigma error sqrt(stat^2 + sys^2), same unit as y."""
        return np.hypot(self.stat, self.sys)

    @property
    def path(self):
        """Absolute path of the source file."""
        p = Path(self.source_file)
        return p if p.is_absolute() else DATA_DIR / p


# === File readers (one per table format) === #

def _rel(path):
    try:
        return str(Path(path).resolve().relative_to(DATA_DIR))
    except ValueError:
        return str(path)


def _floats(path, lineno, line, n_expected, what):
    parts = line.split()
    if len(parts) != n_expected:
        raise DataFormatError(f"{path}, line {lineno}: expected {n_expected} numeric columns ({what}), "
                              f"got {len(parts)}: {line.strip()!r}")
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise DataFormatError(f"{path}, line {lineno}: non-numeric value in {line.strip()!r} "
                              f"(expected {n_expected} columns: {what})") from None
    if not all(math.isfinite(v) for v in vals):
        raise DataFormatError(f"{path}, line {lineno}: non-finite value in {line.strip()!r}")
    return vals


def _check_row(path, lineno, x, y, errs):
    if not x > 0:
        raise DataFormatError(f"{path}, line {lineno}: x = {x!r} must be > 0")
    if not y > 0:
        raise DataFormatError(f"{path}, line {lineno}: y = {y!r} must be > 0")
    for e in errs:
        if e < 0:
            raise DataFormatError(f"{path}, line {lineno}: negative uncertainty {e!r}")


def _read_text(path):
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{path}: cannot read data file ({exc})") from None


def _data_lines(path):
    """Yield (lineno, line) for non-blank, non-comment lines."""
    for i, line in enumerate(_read_text(path).splitlines(), start=1):
        s = line.strip()
        if s and not s.startswith("#"):
            yield i, line


def _header(path, key):
    """Value of a ``#Key: value`` header line, with its line number."""
    for i, line in enumerate(_read_text(path).splitlines(), start=1):
        if line.startswith(f"#{key}:"):
            return i, line.split(":", 1)[1].strip()
    raise DataFormatError(f"{path}: header line '#{key}:' is missing (line 1-8 of a KISS/CRDB table)")


def _require_rows(path, rows):
    if not rows:
        raise DataFormatError(f"{path}: no data rows found")
    return rows


def _read_kiss(path, y_quantity, x_quantity):
    """KISS/CRDB export: ``#`` header (Ref, Experiment, Y/X Quantity), then x y stat_lo stat_up sys_lo sys_up."""
    for key, want in (("Y Quantity", y_quantity), ("X Quantity", x_quantity)):
        ln, got = _header(path, key)
        if got != want:
            raise DataFormatError(f"{path}, line {ln}: #{key} is {got!r}, expected {want!r} (wrong file?)")
    ref = _header(path, "Ref")[1]
    exp = _header(path, "Experiment")[1]
    rows = []
    for i, line in _data_lines(path):
        x, y, slo, sup, ylo, yup = _floats(path, i, line, 6, "x y stat_lo stat_up sys_lo sys_up")
        _check_row(path, i, x, y, (slo, sup, ylo, yup))
        rows.append((x, y, 0.5 * (slo + sup), 0.5 * (ylo + yup), np.nan, np.nan))
    return _require_rows(path, rows), dict(reference=ref, experiment=exp)


def _read_crdb_dat(path, y_quantity):
    """CRDB ``.dat``: 2 ``#`` lines (quantity + experiment(epoch), column names), then 10 columns
    <E> Elo Eup y ystat_lo ystat_up ysyst_lo ysyst_up yerrtot_lo yerrtot_up (E in GeV/n)."""
    lines = _read_text(path).splitlines()
    first = lines[0].lstrip("#").split() if lines else []
    if not first or first[0] != y_quantity:
        raise DataFormatError(f"{path}, line 1: expected a '#   {y_quantity}  <experiment>(<epoch>)' header, "
                              f"got {lines[0] if lines else ''!r}")
    label = " ".join(first[1:])
    rows = []
    for i, line in _data_lines(path):
        E, lo, hi, y, slo, sup, ylo, yup, _, _ = _floats(
            path, i, line, 10, "<E> Elo Eup y ystat_lo ystat_up ysyst_lo ysyst_up yerrtot_lo yerrtot_up")
        _check_row(path, i, E, y, (slo, sup, ylo, yup))
        edges = (lo, hi) if hi > lo else (np.nan, np.nan)
        rows.append((E, y, 0.5 * (slo + sup), 0.5 * (ylo + yup)) + edges)
    epoch = label[label.find("(") + 1:label.rfind(")")] if "(" in label else ""
    return _require_rows(path, rows), dict(epoch=epoch)


def _read_cummings_t8(path):
    """Cummings+16 Table 8 (He): 5 header lines, then E_min E_max E_plot [MeV/n] J sig sys [(m^2 s sr MeV/n)^-1]
    Counts TT.  Converted to GeV/n and per GeV/n."""
    lines = _read_text(path).splitlines()
    if not lines or not lines[0].startswith("Table 8"):
        raise DataFormatError(f"{path}, line 1: expected 'Table 8' (Cummings et al. 2016), got "
                              f"{lines[0] if lines else ''!r}")
    rows = []
    for i, line in enumerate(lines[5:], start=6):
        if not line.strip():
            continue
        emin, emax, eplot, J, sig, sys, _, _ = _floats(
            path, i, line, 8, "E_min E_max E_plot J sig sys Counts TT")
        _check_row(path, i, eplot, J, (sig, sys))
        k = _GEV_PER_MEV
        rows.append((eplot * k, J / k, sig / k, sys / k, emin * k, emax * k))
    return _require_rows(path, rows), {}


def _read_cummings_t9(path, Z):
    """Cummings+16 Table 9 (Z > 2): 4 header lines, then two blocks of Z E_min E_max [MeV/n] J sig sys
    [(m^2 s sr MeV/n)^-1] Counts TT per line (a zero-filled block is padding).  Rows of charge ``Z``
    are kept, converted to GeV/n, x = sqrt(E_min E_max)."""
    lines = _read_text(path).splitlines()
    if not lines or not lines[0].startswith("Table 9"):
        raise DataFormatError(f"{path}, line 1: expected 'Table 9' (Cummings et al. 2016), got "
                              f"{lines[0] if lines else ''!r}")
    rows = []
    for i, line in enumerate(lines[4:], start=5):
        if not line.strip():
            continue
        vals = _floats(path, i, line, 16, "2 x (Z E_min E_max J sig sys Counts TT)")
        for blk in (vals[:8], vals[8:]):
            z, emin, emax, J, sig, sys = blk[:6]
            if z == 0:
                continue
            if z != int(z) or not 0 < emin < emax:
                raise DataFormatError(f"{path}, line {i}: bad block Z={z}, E_min={emin}, E_max={emax} "
                                      "(expected integer Z and 0 < E_min < E_max)")
            if int(z) != Z:
                continue
            _check_row(path, i, emin, J, (sig, sys))
            k = _GEV_PER_MEV
            rows.append((math.sqrt(emin * emax) * k, J / k, sig / k, sys / k, emin * k, emax * k))
    if not rows:
        raise DataFormatError(f"{path}: no rows with Z = {Z}")
    return rows, {}


def _read_pbar_table6(path):
    """AMS-02 PhysRep 2021 Table 6: R_lo R_hi N pbar/p stat sys_N sys_A sys_R sys_tot factor | Phi stat sys factor.
    Returns the pbar/p ratio at x = sqrt(R_lo R_hi), scale factors applied."""
    rows = []
    for i, line in _data_lines(path):
        v = _floats(path, i, line, 14, "R_lo R_hi N pbar/p stat sysN sysA sysR sys factor Phi stat sys factor")
        rlo, rhi, _, r, st, _, _, _, sy, fac = v[:10]
        if not 0 < rlo < rhi:
            raise DataFormatError(f"{path}, line {i}: bin edges R_lo={rlo}, R_hi={rhi}: expected 0 < R_lo < R_hi")
        _check_row(path, i, rlo, r * fac, (st, sy))
        rows.append((math.sqrt(rlo * rhi), r * fac, st * fac, sy * fac, rlo, rhi))
    return _require_rows(path, rows), {}


def _read_ams_prelim(path):
    """Digitised preliminary AMS-02 10Be/9Be: E [GeV/n] ratio lower upper; sigma = (upper - lower)/2."""
    rows = []
    for i, line in _data_lines(path):
        E, r, lo, hi = _floats(path, i, line, 4, "E ratio lower upper")
        if not lo <= r <= hi:
            raise DataFormatError(f"{path}, line {i}: expected lower <= ratio <= upper, got {lo}, {r}, {hi}")
        _check_row(path, i, E, r, ())
        rows.append((E, r, 0.5 * (hi - lo), 0.0, np.nan, np.nan))
    return _require_rows(path, rows), {}


def _read_galprop_rows(path, experiment, interstellar):
    """Verbatim GALPROP GCR_data_5 rows: Ref experiment Xunit Yunit name <E> low high value err- err+ ...
    The error is total 1-sigma (stored as stat).  ACE rows are split into TOA (E_high <= 145 MeV/n)
    and the combined interstellar point (120-350 MeV/n), as stated in the file header."""
    rows = []
    for i, line in _data_lines(path):
        p = line.split()
        if len(p) < 11:
            raise DataFormatError(f"{path}, line {i}: expected >= 11 columns "
                                  f"(Ref exp Xunit Yunit name <E> low high value err- err+), got {len(p)}")
        if p[1] != experiment:
            continue
        unit = {"MeV": _GEV_PER_MEV, "GeV": 1.0}.get(p[2])
        if unit is None:
            raise DataFormatError(f"{path}, line {i}: energy unit {p[2]!r}, expected 'MeV' or 'GeV'")
        E, lo, hi, r, em, ep = _floats(path, i, " ".join(p[5:11]), 6, "<E> low high value err- err+")
        is_ism = experiment == "ACE" and hi * unit > 0.145 + 1e-9
        if is_ism != interstellar:
            continue
        _check_row(path, i, E, r, (em, ep))
        rows.append((E * unit, r, max(em, ep), 0.0, lo * unit, hi * unit))
    if not rows:
        raise DataFormatError(f"{path}: no rows for experiment {experiment!r}")
    return rows, {}


# === Registry === #

@dataclass(frozen=True)
class _Spec:
    file: str
    reader: str
    quantity: str
    experiment: str
    x_kind: str
    modulated: bool
    reference: str
    args: tuple = ()
    validation_only: bool = False
    epoch: str = ""


_PHYSREP = "Aguilar et al. 2021, Phys. Rep. 894, 1 (doi:10.1016/j.physrep.2020.09.003); via CRDB/KISS"
_CUMMINGS = "Cummings et al. 2016, ApJ 831, 18"


def _ams(file, quantity, yq, x_kind="rigidity", xq="rigidity", reference=_PHYSREP, epoch="2011/05-2018/05",
         **kw):
    return _Spec(f"ams02/{file}", "kiss", quantity, "AMS-02", x_kind, True, reference, (yq, xq), epoch=epoch,
                 **kw)


# CRDB selects C, O and B from the 10-year AMS-02 data although the #Ref line says PhysRep 2021 (data README).
_AMS10 = "2011/05-2021/05 (CRDB selection; header cites PhysRep 2021)"


_SPECS = {
    # --- default likelihood data (survey.likelihood.DATASETS) ---
    "AMS-02 B/C": _ams("AMS-02_B_C_rigidity.txt", "B/C", "B_C"),
    "AMS-02 p": _ams("AMS-02_H_rigidity.txt", "p", "H"),
    "AMS-02 He": _ams("AMS-02_He_rigidity.txt", "He", "He"),
    "AMS-02 C": _ams("AMS-02_C_rigidity.txt", "C", "C", epoch=_AMS10),
    "AMS-02 N": _ams("AMS-02_N_rigidity.txt", "N", "N"),
    "AMS-02 O": _ams("AMS-02_O_rigidity.txt", "O", "O", epoch=_AMS10),
    "AMS-02 pbar/p": _Spec("ams02/AMS-02_pbar_p_ratio_and_pbar_flux_PhysRep2021_Table6.txt", "pbar_table6",
                           "pbar/p", "AMS-02", "rigidity", True,
                           "Aguilar et al. 2021, Phys. Rep. 894, 1, Table 6 (via pbarlike, Balan et al. 2023)",
                           epoch="2011/05-2018/05"),
    "AMS-02 e+/(e+ + e-)": _ams("AMS-02_posfraction_rigidity.txt", "e+/(e+ + e-)", "posfraction",
                                x_kind="energy"),
    "AMS-02 e-": _ams("AMS-02_e-_rigidity.txt", "e-", "e-", x_kind="energy"),
    "AMS-02 e+": _ams("AMS-02_e+_rigidity.txt", "e+", "e+", x_kind="energy"),
    "Voyager p": _Spec("voyager/Voyager1_2012_Proton.dat", "crdb_dat", "p", "Voyager 1", "Ekn", False,
                       "CRDB 'Voyager1 (2012/10-2012/12)', likely Stone et al. 2013, Science 341, 150",
                       ("H",)),
    "Voyager He": _Spec("voyager/Voyager1_Helium.txt", "cummings_t8", "He", "Voyager 1", "Ekn", False,
                        _CUMMINGS + ", Table 8", epoch="2012/342-2015/181"),
    "Voyager B": _Spec("voyager/apjaa2409t9_ascii.txt", "cummings_t9", "B", "Voyager 1", "Ekn", False,
                       _CUMMINGS + ", Table 9", (5,), epoch="2012/342-2015/181"),
    "Voyager C": _Spec("voyager/apjaa2409t9_ascii.txt", "cummings_t9", "C", "Voyager 1", "Ekn", False,
                       _CUMMINGS + ", Table 9", (6,), epoch="2012/342-2015/181"),
    "Voyager O": _Spec("voyager/apjaa2409t9_ascii.txt", "cummings_t9", "O", "Voyager 1", "Ekn", False,
                       _CUMMINGS + ", Table 9", (8,), epoch="2012/342-2015/181"),
    "ACE 10Be/9Be": _Spec("be10be9/Be_ratio_ACE.dat", "crdb_dat", "10Be/9Be", "ACE-CRIS", "Ekn", True,
                          "Yanasak et al. 2001, ApJ 563, 768 (via CRDB)", ("10Be/9Be",)),
    "ISOMAX 10Be/9Be": _Spec("be10be9/Be_ratio_ISOMAX.dat", "crdb_dat", "10Be/9Be", "ISOMAX", "Ekn", True,
                             "Hams et al. 2004, ApJ 611, 892 (via CRDB)", ("10Be/9Be",)),
    # --- further shipped tables (cross-checks, plots, validation) ---
    "AMS-02 10Be/9Be (preliminary)": _Spec(
        "be10be9/AMS-02_10Be9Be_PRELIMINARY_TeVPA2024_digitised.txt", "ams_prelim", "10Be/9Be", "AMS-02", "Ekn",
        True, "AMS collaboration, TeVPA 2024 talk, PRELIMINARY (digitised by C. Evoli, NLBM)",
        validation_only=True),
    "Balloon 10Be/9Be": _Spec("be10be9/Be_ratio_BALLOON.dat", "crdb_dat", "10Be/9Be", "Balloon", "Ekn", True,
                              "CRDB compilation 'Balloon - several years' (originals not resolved)",
                              ("10Be/9Be",), validation_only=True),
    "ACE 10Be/9Be (GALPROP, TOA)": _Spec(
        "be10be9/GALPROP_GCR_data_5_10Be9Be_rows.txt", "galprop_rows", "10Be/9Be", "ACE-CRIS", "Ekn", True,
        "Yanasak et al. 2001, ApJ 563, 768, Table 2 (via GALPROP GCR_data_5)", ("ACE", False),
        epoch="1997/08-1999/07"),
    "ACE 10Be/9Be (GALPROP, interstellar)": _Spec(
        "be10be9/GALPROP_GCR_data_5_10Be9Be_rows.txt", "galprop_rows", "10Be/9Be", "ACE-CRIS", "Ekn", False,
        "Yanasak et al. 2001, ApJ 563, 768, Table 2, combined point at interstellar energy (via GALPROP)",
        ("ACE", True), epoch="1997/08-1999/07"),
    "ISOMAX 10Be/9Be (GALPROP)": _Spec(
        "be10be9/GALPROP_GCR_data_5_10Be9Be_rows.txt", "galprop_rows", "10Be/9Be", "ISOMAX", "Ekn", True,
        "Hams et al. 2004, ApJ 611, 892 (via GALPROP GCR_data_5; total error)", ("ISOMAX", False),
        epoch="1998/08"),
    "Voyager He (2012)": _Spec("voyager/Voyager_He_2012.dat", "crdb_dat", "He", "Voyager 1", "Ekn", False,
                               "CRDB 'Voyager1 (2012/10-2012/12)', likely Stone et al. 2013, Science 341, 150",
                               ("He",)),
    "AMS-02 B/C (Ekn)": _ams("AMS-02_B_C_kineticEnergyPerNucleon.txt", "B/C", "B_C", x_kind="Ekn",
                             xq="kineticEnergyPerNucleon",
                             reference="Aguilar et al. 2016, PRL 117, 231102; via CRDB/KISS", epoch="2011/05-2016/05"),
    "AMS-02 B": _ams("AMS-02_B_rigidity.txt", "B", "B", epoch=_AMS10),
    "AMS-02 pbar": _ams("AMS-02_pbar_rigidity.txt", "pbar", "pbar"),
    "AMS-02 Be": _ams("AMS-02_Be_rigidity.txt", "Be", "Be"),
    "AMS-02 Li": _ams("AMS-02_Li_rigidity.txt", "Li", "Li"),
    "AMS-02 B/O": _ams("AMS-02_B_O_rigidity.txt", "B/O", "B_O"),
    "AMS-02 C/O": _ams("AMS-02_C_O_rigidity.txt", "C/O", "C_O"),
    "AMS-02 Be/C": _ams("AMS-02_Be_C_rigidity.txt", "Be/C", "Be_C"),
    "AMS-02 Be/B": _ams("AMS-02_Be_B_rigidity.txt", "Be/B", "Be_B",
                        reference="Aguilar et al. 2018, PRL 120, 021101; via CRDB/KISS", epoch="2011/05-2016/05"),
    "AMS-02 p/He": _ams("AMS-02_H_He_rigidity.txt", "p/He", "H_He"),
    "AMS-02 e+ + e-": _ams("AMS-02_e+e-_rigidity.txt", "e+ + e-", "e+e-", x_kind="energy"),
}

#: name -> path of the source table relative to ``engine/data/``.
DATASET_FILES = {name: s.file for name, s in _SPECS.items()}

#: name -> covariance file (relative to ``engine/data/``) for datasets that have one.  The pbar covariance is
#: for the pbar *flux* (``"AMS-02 pbar"``) in the Table-6 bins (Heisig, Korsmeier & Winkler 2020 model).
COVARIANCE_FILES = {"AMS-02 pbar (Table 6 bins)": "ams02/AMS-02_pbar_flux_covariance_HKW2020.txt"}

_RATIOS = {"B/C", "pbar/p", "10Be/9Be", "e+/(e+ + e-)", "B/O", "C/O", "Be/C", "Be/B", "p/He"}


def _check_name(name, registry):
    if name not in registry:
        import difflib
        near = difflib.get_close_matches(str(name), list(registry), n=1)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ConfigError(f"dataset {name!r} is unknown: expected one of {list(registry)}.{hint}")


def load(name, path=None):
    """Load one registered dataset into a :class:`Dataset`.

    Parameters
    ----------
    name : str
        A key of :data:`DATASET_FILES`, e.g. ``"AMS-02 B/C"``.
    path : str or Path, optional
        Read this file instead of the shipped one, with the format of ``name`` (e.g. an updated table).

    Returns
    -------
    Dataset
        Points sorted by ascending x, arrays read-only.

    Raises
    ------
    ConfigError
        ``name`` is not registered (the message lists the valid names).
    DataFormatError
        The file is malformed (the message names the file and the line).
    """
    _check_name(name, _SPECS)
    if path is None:
        return _load_shipped(name)
    return _build(name, Path(path))


@functools.lru_cache(maxsize=None)
def _load_shipped(name):
    return _build(name, DATA_DIR / _SPECS[name].file)


def _build(name, path):
    s = _SPECS[name]
    reader = {"kiss": _read_kiss, "crdb_dat": _read_crdb_dat, "cummings_t8": _read_cummings_t8,
              "cummings_t9": _read_cummings_t9, "pbar_table6": _read_pbar_table6,
              "ams_prelim": _read_ams_prelim, "galprop_rows": _read_galprop_rows}[s.reader]
    rows, meta = reader(path, *s.args)
    a = np.array(rows, dtype=np.float64)
    a = a[np.argsort(a[:, 0], kind="stable")]
    has_edges = np.all(np.isfinite(a[:, 4:6]))
    y_unit = "1" if s.quantity in _RATIOS else _FLUX_UNIT[s.x_kind]
    return Dataset(
        name=name, quantity=s.quantity, experiment=meta.get("experiment", s.experiment),
        x=a[:, 0], x_unit=_X_UNIT[s.x_kind], x_kind=s.x_kind, y=a[:, 1], y_unit=y_unit,
        stat=a[:, 2], sys=a[:, 3], modulated=s.modulated, reference=s.reference, source_file=_rel(path),
        x_lo=a[:, 4] if has_edges else None, x_hi=a[:, 5] if has_edges else None,
        epoch=s.epoch or meta.get("epoch", ""), validation_only=s.validation_only)


def load_all(names=None, include_validation=True):
    """Load several datasets: ``{name: Dataset}`` for ``names`` (default: every registered one).

    ``include_validation=False`` drops datasets flagged ``validation_only`` (preliminary data).
    """
    names = list(_SPECS) if names is None else list(names)
    out = {n: load(n) for n in names}
    if not include_validation:
        out = {n: d for n, d in out.items() if not d.validation_only}
    return out


def load_covariance(name="AMS-02 pbar (Table 6 bins)", path=None):
    """Covariance matrix (n, n) of a dataset, in y_unit^2 [for the pbar flux: (m^2 sr s GV)^-2].

    Raises ConfigError for an unknown name and DataFormatError (file, line) for a malformed or
    non-square/asymmetric matrix.
    """
    _check_name(name, COVARIANCE_FILES)
    path = Path(path) if path is not None else DATA_DIR / COVARIANCE_FILES[name]
    rows, n0 = [], None
    for i, line in _data_lines(path):
        n0 = n0 or len(line.split())
        rows.append(_floats(path, i, line, n0, f"{n0} matrix entries"))
    C = np.array(rows)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise DataFormatError(f"{path}: covariance has shape {C.shape}, expected a square matrix")
    if not np.allclose(C, C.T, rtol=1e-4, atol=0):
        raise DataFormatError(f"{path}: covariance is not symmetric")
    C.setflags(write=False)
    return C
