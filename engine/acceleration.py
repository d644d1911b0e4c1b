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
  not moved beyond it;
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

The jumps add no time: ``t`` counts the evolved time only.
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
    """

    def __init__(self, cos_min=0.95, ratio_tol=0.1, cooldown=3, q_max=0.999, floor=0.1):
        self.cos_min, self.ratio_tol, self.floor = float(cos_min), float(ratio_tol), float(floor)
        self.cooldown, self.q_max = int(cooldown), float(q_max)
        self.n_jumps = 0
        self.enabled = True
        self._jump_rates = []       # the rate of change at each jump taken
        self._last = None           # (change, dt) of the last step
        self._q = None              # ratio of the last two steps
        self._wait = 0

    def reset(self):
        """Forget the measured ratios (after a step that is not part of a smooth approach)."""
        self._last, self._q = None, None

    def observe(self, N, dN, dt):
        """Record a step that ended in N with change dN over dt [Myr]; returns the ratio q of this step's change
        to the last one's if the two form a single decaying mode, else None. Both changes are measured in the
        same metric (``floor``) with the current N: a metric that moved between them would bias q, and
        q/(1 - q) magnifies that bias by 1/(1 - q)."""
        last, q_last = self._last, self._q
        self._last, self._q = (dN, dt), None
        self._wait -= 1
        if last is None or abs(dt - last[1]) > 1e-9 * dt:
            return None
        weight = 1.0 / (N + self.floor * N.max(axis=(1, 2), keepdims=True) + 1e-300)
        v, u = (dN * weight).ravel(), (last[0] * weight).ravel()
        norm, norm_last = float(np.sqrt(v @ v)), float(np.sqrt(u @ u))
        if norm == 0.0 or norm_last == 0.0:
            return None
        q = norm / norm_last
        cos = float(v @ u) / (norm * norm_last)
        self._q = q
        if cos < self.cos_min or not 0.0 < q < self.q_max or q_last is None:
            return None
        if abs(q - q_last) > self.ratio_tol * (1.0 - q):
            return None
        return q

    def propose(self, N, dN, dt, rate, tol, t, t_max):
        """The extrapolated state after a step (N, its change dN, length dt [Myr], largest fractional change
        per Myr ``rate``), or None. ``tol`` is the steady-state criterion's rate [per Myr], t and t_max [Myr]."""
        q = self.observe(N, dN, dt)
        if q is None or self._wait > 0 or not self.enabled:
            return None
        r = self._jump_rates
        if len(r) >= 2 and r[-2] < r[-1] < rate:
            # the last two jumps each left the run moving faster than at the one before: the approach is not
            # a decaying mode (a drift the jumps overshoot); no more jumps in this run
            self.enabled = False
            return None
        steps_left = np.log(max(rate / tol, 1.0)) / -np.log(q)
        if t + steps_left * dt > t_max:
            return None
        N_jump = np.clip(N + q / (1.0 - q) * dN, 0.5 * N, 2.0 * N)
        self._wait = self.cooldown
        self._last, self._q = None, None
        self.n_jumps += 1
        self._jump_rates.append(rate)
        return N_jump

    def summary(self):
        """A phrase for the run's message, or "" when no jump was taken."""
        if not self.n_jumps:
            return ""
        stopped = "" if self.enabled else ", then stopped: the run moved faster after each of the last two"
        return (f"; {self.n_jumps} extrapolation jumps of the slowest mode{stopped} "
                f"(engine.acceleration; t counts the evolved time only)")
