"""Acceleration of the approach to a steady state: Aitken extrapolation of its slowest mode
[docs/physics.md, "Reaching the steady state"].

Near a steady state N* the time stepping is a linear contraction, N_n+1 - N* = T (N_n - N*), and what is left
after a while is its slowest mode: each step's change dN_n is then the previous one times a fixed ratio q < 1
(per step), all over the state. Its sum over the remaining steps is dN_n q/(1 - q) (Aitken's delta^2
process applied to the whole state along the mode's direction, the simplest of the vector extrapolation
methods; A. Sidi 2017, "Vector Extrapolation Methods with Applications", SIAM), so

    N_jump = N_n + dN_n q / (1 - q)

is where the run would go if nothing else were left. In this galaxy the slow modes are slow indeed: under
new_damping the last to settle are the MeV positrons at the Sun (fed from the halo's long-lived MeV leptons,
changing by 0.013 of their change per 10 Myr step), and the run took 3.4 Gyr of 10 Myr steps to meet the
steady-state criterion (399 steps); with these jumps 1.1 Gyr (165 steps).

Nothing here decides what is steady: after a jump the run goes on with ordinary steps, and the ordinary
criterion (``engine.transport.SteadyStateCriterion``) must then hold. Safeguards, since a nonlinear run is
only approximately such a contraction:

* a jump is proposed only when the last three steps had the same length and the last two ratios q agree
  (``ratio_tol`` of 1 - q) and the last two changes point the same way (cosine above ``cos_min``) in a
  relative metric (``floor``): one mode, not a mixture, not an oscillation (the caller also requires the
  scattering rates to be calm);
* it is taken only when the run would reach the criterion before its t_max at that rate
  (t + dt ln(rate/tol)/ln(1/q) <= t_max), so a run asked for its state at a finite time (H22's 500 Myr) is
  not moved beyond it. Otherwise the mode is *projected* instead: the same geometric series summed over m
  steps only,

      N_proj = N_n + dN_n q (1 - q^m) / (1 - q),      t -> t + m dt,

  which is where m more steps would take it if nothing else were left (a partial sum of the jump above, so a
  smaller move than a jump). m is at most what takes the run to ``t_max - t_keep`` and at most what halves
  the mode (``max_decay``); the run then measures the ratio afresh and may project again, and it ends with
  ``t_keep`` of ordinary steps, in which the faster modes a projection excites decay and over which a live
  run's time averages are taken. A point of a survey whose slowest mode has an e-folding time of ~3 Gyr
  (a new_damping prior draw) then costs 418 steps instead of the 1138 it took to step through the 10 Gyr
  (docs/physics.md). Unlike a jump, a projection advances ``t``: it stands for evolved time. The engine
  asks for projections only for live laws with a unique steady state (``ScatteringLaw.unique_attractor``,
  collapse index q < 1): they moved sc_reference (q = 1) into an oscillation on the quick grid;
* each density moves by at most a factor 2;
* once the last two jumps each left the run moving faster (the Sun's spectra changing faster per Myr) than
  at the jump before, no more jumps are taken in the run. A slow drift can look like a clean mode (q =
  0.994, cosine 0.99999 for a generic-law point with xi_k = 1.7, zeta_k = 1.7) while the jumps overshoot
  it: there 28 jumps kept the rate near 1e-4 per Myr until t_max, where the plain run was steady after 282
  steps; with this rule it is steady after 335, closer to a tol = 1e-7 reference (0.55 % against 2.2 %).

A jump is not judged by the next step: trading the slow mode for faster ones, it typically raises the next
step's largest change of the Sun's spectra (new_damping: 2-20 x, decaying within ~3 steps), while the run as a
whole meets the criterion in 165 steps instead of 399, and closer to the converged state (against a run to
tol = 1e-7/Myr: every bin within 0.17 % instead of 0.74 %, p at 1 GeV 0.009 % instead of 0.53 %; the other
laws in docs/physics.md).
Where the law has a unique steady state (every fixed law; the live laws that are start independent) a jump
cannot change where the run ends, only how fast it gets there; laws whose rates keep moving
(self-confinement's oscillations) are never extrapolated.

A jump adds no time (``t`` counts evolved time, and the steady state does not depend on it); a projection
adds the m dt it stands for.
"""

import numpy as np

__all__ = ["SlowModeExtrapolation"]


class SlowModeExtrapolation:
    """Proposes Aitken jumps of the time stepping's slowest mode (one instance per run).

    Parameters
    ----------
    cos_min : float
        Smallest cosine between the last two changes (relative metric) for a single mode.
    ratio_tol : float
        Largest |q_n - q_n-1| / (1 - q_n) of the last two per-step ratios.
    cooldown : int
        Steps after a jump before the next can be proposed (the ratios must be measured afresh).
    q_max : float
        Largest ratio taken as a decaying mode; a jump stands for q / (1 - q) <= q_max / (1 - q_max) steps
        (999 by default).
    floor : float
        The metric of the changes is dN / (N + floor x the species' largest N): relative where a species is
        abundant, absolute in its sparse cells and tails, whose relative changes would otherwise dominate
        (with floor = 1e-6 the sparse cells' changes grew from step to step, q > 1, while the spectra at the
        Sun settled; new_damping then took no jump).
    project : bool
        Project the mode (toward ``t_max - t_keep``) when the run would not reach the criterion before t_max.
    project_after_myr : float
        No projection before this time [Myr] (the transient of a run is not one mode).
    min_project_steps : int
        Smallest number of steps a projection must stand for (fewer are left to ordinary steps).
    project_window : int
        Steps that must form one decaying mode before a projection (:meth:`_clean_run`): a projection is not
        checked by the criterion afterwards the way a jump is, so it asks for more than the two agreeing
        ratios of a jump. With two, new_damping at 82 Myr (ratios 0.940, 0.946, still rising to 0.984 by
        400 Myr: faster modes were left) was projected over 130 Myr and its 500 Myr state moved by 6 %.
    max_decay : float
        A projection stands for at most the steps in which the mode decays to this fraction (q^m >= max_decay):
        the ratio is measured afresh before the next one, since a nonlinear run's slowest mode slows down as
        it settles. Projected in one go, a new_damping prior draw ended 40 % off its 10 Gyr state at the Sun;
        in halvings within 0.5 % (docs/physics.md).
    """

    def __init__(self, cos_min=0.95, ratio_tol=0.1, cooldown=3, q_max=0.999, floor=0.1, project=True,
                 min_project_steps=10, max_decay=0.5, project_window=6, project_after_myr=0.0):
        self.cos_min, self.ratio_tol, self.floor = float(cos_min), float(ratio_tol), float(floor)
        self.cooldown, self.q_max = int(cooldown), float(q_max)
        self.project, self.min_project_steps = bool(project), int(min_project_steps)
        self.max_decay, self.project_window = float(max_decay), int(project_window)
        self.project_after_myr = float(project_after_myr)
        self.n_jumps = 0
        self.n_projections = 0
        self.projected_myr = 0.0
        self.enabled = True
        self._jump_rates = []       # the rate of change at each jump taken
        self._last = None           # (change, dt) of the last step
        self._q = None              # ratio of the last two steps
        self._run = []              # (q, rate) of the consecutive single-mode steps so far
        self._wait = 0

    def reset(self):
        """Forget the measured ratios (after a step that is not part of a smooth approach)."""
        self._last, self._q, self._run = None, None, []

    def observe(self, N, dN, dt):
        """Record a step that ended in N with change dN over dt [Myr]; returns the ratio q of this step's change
        to the last one's if the two form a single decaying mode, else None. Both changes are measured in the
        same metric (``floor``) with the current N: a metric that moved between them would bias q, and
        q/(1 - q) magnifies that bias by 1/(1 - q)."""
        last, q_last = self._last, self._q
        self._last, self._q = (dN, dt), None
        self._wait -= 1
        if last is None or abs(dt - last[1]) > 1e-9 * dt:
            self._run = []
            return None
        weight = 1.0 / (N + self.floor * N.max(axis=(1, 2), keepdims=True) + 1e-300)
        v, u = (dN * weight).ravel(), (last[0] * weight).ravel()
        norm, norm_last = float(np.sqrt(v @ v)), float(np.sqrt(u @ u))
        if norm == 0.0 or norm_last == 0.0:
            self._run = []
            return None
        q = norm / norm_last
        cos = float(v @ u) / (norm * norm_last)
        self._q = q
        if cos < self.cos_min or not 0.0 < q < self.q_max:
            self._run = []
            return None
        self._run.append((q, None))
        if q_last is None:
            return None
        if abs(q - q_last) > self.ratio_tol * (1.0 - q):
            return None
        return q

    def propose(self, N, dN, dt, rate, tol, t, t_max, t_keep=0.0):
        """The extrapolated state after a step (N, its change dN, length dt [Myr], largest fractional change
        per Myr ``rate``), or None. ``tol`` is the steady-state criterion's rate [per Myr], t and t_max [Myr];
        ``t_keep`` [Myr] is the ordinary evolution left after a projection. Returns (N_new, advance [Myr]):
        advance is 0 for a jump to the steady state and m dt for a projection over m steps."""
        q = self.observe(N, dN, dt)
        if self._run and self._run[-1][1] is None:
            self._run[-1] = (self._run[-1][0], rate)
        if q is None or self._wait > 0 or not self.enabled:
            return None
        r = self._jump_rates
        if len(r) >= 2 and r[-2] < r[-1] < rate:
            # the last two jumps each left the run moving faster than at the one before: the approach is not
            # a decaying mode (a drift the jumps overshoot); no more jumps in this run
            self.enabled = False
            return None
        steps_left = np.log(max(rate / tol, 1.0)) / -np.log(q)
        if t + steps_left * dt <= t_max:
            factor, m = q / (1.0 - q), 0
        else:
            m = int(np.floor((t_max - t_keep - t) / dt * (1.0 + 1e-12)))
            m = min(m, int(np.log(self.max_decay) / np.log(q)))
            if (not self.project or t < self.project_after_myr or m < self.min_project_steps
                    or not self._clean_run()):
                return None
            factor = q * (1.0 - q ** m) / (1.0 - q)
        N_new = np.clip(N + factor * dN, 0.5 * N, 2.0 * N)
        self._wait = self.cooldown
        self._last, self._q, self._run = None, None, []
        self._jump_rates.append(rate)
        if m:
            self.n_projections += 1
            self.projected_myr += m * dt
        else:
            self.n_jumps += 1
        return N_new, m * dt

    def _clean_run(self):
        """Whether the last ``project_window`` steps are one decaying mode: every step single-mode, their
        ratios within ``ratio_tol`` (1 - q) of each other, and the Sun's spectra moving slower at each step."""
        run = self._run[-self.project_window:]
        if len(run) < self.project_window:
            return False
        qs = [q for q, _ in run]
        rates = [r for _, r in run]
        if max(qs) - min(qs) > self.ratio_tol * (1.0 - max(qs)):
            return False
        return all(b <= a for a, b in zip(rates[:-1], rates[1:]))

    def summary(self):
        """A phrase for the run's message, or "" when no jump or projection was taken."""
        out = ""
        if self.n_jumps:
            stopped = "" if self.enabled else ", then stopped: the run moved faster after each of the last two"
            out += (f"; {self.n_jumps} extrapolation jumps of the slowest mode{stopped} "
                    f"(engine.acceleration; t counts the evolved time only)")
        if self.n_projections:
            out += (f"; the slowest mode projected over {self.projected_myr:.0f} Myr of the evolution "
                    f"(engine.acceleration)")
        return out
