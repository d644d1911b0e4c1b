"""The Result of one engine evaluation: spectra and observables at the Sun, scattering state, history."""

from dataclasses import dataclass, field

import numpy as np

from .observables import observables_from_spectra

__all__ = ["Result"]


@dataclass
class Result:
    """One point of parameter space, evolved to steady state (or not). See docs/interfaces.md.

    Attributes
    ----------
    status : "steady" | "not-converged" | "failed";  message : why
    law, params : the law's preset name and every parameter used (defaults filled in)
    species : species names; energy[s] : bin centres [GeV/n nuclei, GeV leptons]; rigidity[s] [GV]
    spectra[s] : LIS intensity at the Sun [(m^2 s sr GeV/n)^-1 or (m^2 s sr GeV)^-1]
    observables : name -> (x, y), unmodulated (LIS); see engine.observables.OBSERVABLE_NAMES
    R_waves [GV]; z_kpc [kpc]: the cell faces where the law is evaluated; nu_s, kappa (n_z, n_R) for protons
    [s^-1, cm^2 s^-1] on (z_kpc, R_waves);
    v_st (n_z, n_R) signed streaming speed [cm/s]; flags (n_z, n_R) wave-balance outcome codes
    outcome : list of (R_lo_GV, R_hi_GV, label) at the Sun
    history : t_myr, E_cr_erg_cm2 (column CR energy, z >= 0), escape_flux (energy, erg cm^-2 s^-1), max_rel_change (per Myr)
    eps_cr_sun : CR kinetic energy density per ln R at the Sun on R_waves [eV cm^-3]
    n_steps, t_end_myr : steps taken and the time reached [Myr]; t_max_myr : the time asked for [Myr] (a live run
    that ends well before it, e.g. "stalled", is not a model prediction: survey.likelihood does not score it)
    """

    status: str
    message: str
    law: str
    params: dict
    species: tuple
    energy: dict
    rigidity: dict
    spectra: dict
    observables: dict
    R_waves: np.ndarray
    z_kpc: np.ndarray
    nu_s: np.ndarray
    kappa: np.ndarray
    v_st: np.ndarray
    flags: np.ndarray
    outcome: list
    history: dict
    eps_cr_sun: np.ndarray
    wall_time_s: float = 0.0
    n_steps: int = 0
    t_end_myr: float = 0.0
    t_max_myr: float = float("inf")
    time_band: dict = field(default_factory=dict)
    time_window_myr: tuple = ()
    extra: dict = field(default_factory=dict)

    def modulated(self, phi_GV):
        """Observables after force-field modulation of every species with potential ``phi_GV`` [GV]."""
        E = self.energy["p"]
        return observables_from_spectra(E, self.spectra, float(phi_GV))

    def at(self, name, x):
        """Observable ``name`` interpolated (log-log) at x (GV, GeV/n or GeV as the observable's x)."""
        if name not in self.observables:
            from .errors import check_choice
            check_choice("observable", name, list(self.observables))
        xs, ys = self.observables[name]
        good = ys > 0
        return np.exp(np.interp(np.log(x), np.log(xs[good]), np.log(ys[good])))

    def to_record(self):
        """Flat dict of scalars and float lists for one Arrow row (see docs/interfaces.md)."""
        rec = {"status": self.status, "law": self.law, "message": self.message,
               "wall_time_s": float(self.wall_time_s), "n_steps": int(self.n_steps),
               "t_end_myr": float(self.t_end_myr), "t_max_myr": float(self.t_max_myr)}
        for k, v in self.params.items():
            rec[f"param.{k}"] = float(v)
        for k, (x, y) in self.observables.items():
            rec[f"obs.{k}.x"] = [float(a) for a in x]
            rec[f"obs.{k}.y"] = [float(a) for a in y]
        for s in self.species:
            rec[f"spec.{s}"] = [float(a) for a in self.spectra[s]]
            rec[f"energy.{s}"] = [float(a) for a in self.energy[s]]
        rec["outcome"] = "; ".join(f"{lo:.3g}-{hi:.3g} GV: {lab}" for lo, hi, lab in self.outcome)
        return rec

    def summary(self):
        """A few lines describing the run (used by the CLI)."""
        lines = [f"law {self.law}: status {self.status} after {self.n_steps} steps, t = {self.t_end_myr:.0f} Myr"
                 f" ({self.wall_time_s:.2f} s)"]
        if self.message:
            lines.append(f"  {self.message}")
        for R in (10.0, 100.0):
            try:
                lines.append(f"  B/C({R:g} GV) = {self.at('B/C', R):.4g}   pbar/p({R:g} GV) = {self.at('pbar/p', R):.3g}")
            except ValueError:
                pass
        for lo, hi, lab in self.outcome:
            lines.append(f"  {lo:9.3g} - {hi:9.3g} GV : {lab}")
        return "\n".join(lines)
