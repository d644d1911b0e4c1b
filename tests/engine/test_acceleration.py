"""Aitken extrapolation of the slowest mode (engine.acceleration) against known fixed points, and its effect on
engine.solve: same steady state (against a run to a 100 x tighter criterion), fewer steps, finite-time runs
untouched."""

import numpy as np
import pytest

import engine
from engine.acceleration import SlowModeExtrapolation
from engine.species import SPECIES_NAMES
from engine.transport import SteadyStateCriterion


def _contraction(rates, n_steps, x0, x_star):
    """Backward-Euler steps x_n+1 = x_n - h lam (x_n+1 - x*) per component (h lam = rates): a linear
    contraction with per-step ratios 1/(1 + rates), fixed point x*."""
    xs = [x0]
    for _ in range(n_steps):
        xs.append(x_star + (xs[-1] - x_star) / (1.0 + rates))
    return xs


def _drive(ex, xs, t_max=1e9):
    for k in range(1, len(xs)):
        jump = ex.propose(xs[k], xs[k] - xs[k - 1], 10.0, 1e-3, 1e-5, 10.0 * k, t_max)
        if jump is not None:
            assert jump[1] == 0.0                 # a jump to the steady state adds no time
            return k, jump[0]
    return None, None


def test_a_single_mode_jumps_onto_the_fixed_point():
    shape = (2, 3, 4)
    rng = np.random.default_rng(1)
    x_star = rng.uniform(1.0, 2.0, shape)
    x0 = x_star * (1.0 + 0.3 * rng.uniform(0.5, 1.0, shape))      # one mode: every component the same ratio
    xs = _contraction(np.full(shape, 0.02), 6, x0, x_star)
    k, jump = _drive(SlowModeExtrapolation(), xs)
    assert k == 3                                     # three steps: two ratios that agree
    assert np.max(np.abs(jump / x_star - 1)) < 1e-12
    # without it the same accuracy takes ln(0.3/1e-12)/ln(1.02) ~ 1400 steps


def _run(rates, x0, x_star, tol=1e-8, extrapolate=True, max_steps=100000):
    """Steps of the contraction (with jumps when proposed) until every component is within tol of x*."""
    ex = SlowModeExtrapolation()
    x, n = x0, 0
    while np.max(np.abs(x / x_star - 1)) > tol and n < max_steps:
        x_new = x_star + (x - x_star) / (1.0 + rates)
        n += 1
        jump = ex.propose(x_new, x_new - x, 10.0, 1e-3, 1e-5, 10.0 * n, 1e9) if extrapolate else None
        x = x_new if jump is None else jump[0]
    return n, ex.n_jumps


@pytest.mark.parametrize("slow", [0.01, 0.002])
def test_two_modes_fast_then_slow_reach_the_fixed_point_in_far_fewer_steps(slow):
    shape = (1, 50, 20)
    rng = np.random.default_rng(2)
    x_star = rng.uniform(1.0, 3.0, shape)
    rates = np.full(shape, slow)
    rates[:, :10] = 2.0                                 # a fast mode on a fifth of the state
    x0 = x_star * 1.5
    n_plain, _ = _run(rates, x0, x_star, extrapolate=False)
    n_fast, jumps = _run(rates, x0, x_star)
    assert n_plain == pytest.approx(np.log(0.5 / 1e-8) / np.log(1 + slow), abs=2)
    assert jumps >= 1 and n_fast < n_plain / 40, (n_fast, n_plain)


@pytest.mark.parametrize("case", ["oscillation", "unequal steps", "t_max too close"])
def test_no_jump_where_the_single_mode_picture_fails(case):
    shape = (1, 10, 10)
    x_star = np.ones(shape)
    ex = SlowModeExtrapolation()
    if case == "oscillation":                   # the change flips sign every step
        xs = [x_star + 0.1 * (-0.9) ** n for n in range(8)]
    else:
        xs = _contraction(np.full(shape, 0.02), 8, 1.5 * x_star, x_star)
    if case == "unequal steps":
        for k in range(1, len(xs)):
            assert ex.propose(xs[k], xs[k] - xs[k - 1], 10.0 * k, 1e-3, 1e-5, 100.0, 1e9) is None
        return
    t_max = 50.0 if case == "t_max too close" else 1e9     # ln(100)/ln(1.02) = 233 steps of 10 Myr needed
    k, jump = _drive(ex, xs, t_max)
    assert jump is None, f"jumped at step {k}"
    if case == "t_max too close":               # the same steps with room to converge do jump
        assert _drive(SlowModeExtrapolation(), xs)[1] is not None


@pytest.mark.parametrize("factor, jumps_left", [(2.0, 0), (0.5, None)])
def test_jumps_stop_once_the_run_moves_faster_after_each_of_two(factor, jumps_left):
    # the rate of change at each proposal grows (factor 2: the jumps overshoot a drift) or shrinks
    shape = (1, 4, 4)
    x_star = np.ones(shape)
    xs = _contraction(np.full(shape, 0.02), 60, 1.5 * x_star, x_star)
    ex = SlowModeExtrapolation()
    rate, n = 1e-3, 0
    for k in range(1, len(xs)):
        if ex.propose(xs[k], xs[k] - xs[k - 1], 10.0, rate, 1e-5, 10.0 * k, 1e9) is not None:
            n += 1
            rate *= factor
    if jumps_left == 0:
        assert n == 2 and not ex.enabled and "then stopped" in ex.summary()
    else:
        assert n > 5 and ex.enabled


def test_a_density_moves_by_at_most_a_factor_two():
    shape = (1, 2, 2)
    xs = _contraction(np.full(shape, 0.01), 4, np.full(shape, 1.0), np.full(shape, 100.0))   # f = 99
    k, jump = _drive(SlowModeExtrapolation(), xs)
    assert jump is not None and np.allclose(jump, 2.0 * xs[k])


def _project(ex, xs, rates, t_max, t_keep=100.0, dt=10.0):
    """Feed the steps of xs, with the Sun's rates of change ``rates``, until a projection or jump; returns
    (k, N, advance [Myr]) or None."""
    for k in range(1, len(xs)):
        out = ex.propose(xs[k], xs[k] - xs[k - 1], dt, rates[k], 1e-5, dt * k, t_max, t_keep)
        if out is not None:
            return k, out[0], out[1]
    return None


def _slow_mode(r=0.002, n=12):
    """One mode decaying by 1/(1 + r) per 10 Myr step (e-folding 5 Gyr for r = 0.002): at the Sun's rate 1e-3
    per Myr the 1e-5 criterion is ln(100)/r ~ 2300 steps away, beyond any t_max below."""
    shape = (2, 3, 4)
    rng = np.random.default_rng(3)
    x_star = rng.uniform(1.0, 2.0, shape)
    xs = _contraction(np.full(shape, r), n, x_star * (1.0 + 0.3 * rng.uniform(0.5, 1.0, shape)), x_star)
    rates = [1e-3 / (1.0 + r) ** k for k in range(n + 1)]
    return x_star, xs, rates


@pytest.mark.parametrize("t_max, m_expected", [(10000.0, 346), (2000.0, 183)])
def test_a_slow_mode_is_projected_onto_its_state_at_a_later_time(t_max, m_expected):
    # m is limited by halving the mode (q^m >= 1/2: ln 2 / ln 1.002 = 346.9) or by t_max - t_keep
    r = 0.002
    x_star, xs, rates = _slow_mode(r)
    k, N, advance = _project(SlowModeExtrapolation(), xs, rates, t_max)
    assert k == 7                                  # six single-mode steps with ratios that agree
    assert advance == pytest.approx(10.0 * m_expected) and k * 10.0 + advance <= t_max - 100.0
    expect = x_star + (xs[k] - x_star) / (1.0 + r) ** m_expected      # the contraction m steps later
    assert np.max(np.abs(N / expect - 1)) < 1e-10


@pytest.mark.parametrize("case", ["rates grow", "before project_after_myr", "projection off", "too few steps"])
def test_no_projection_where_it_is_not_safe(case):
    x_star, xs, rates = _slow_mode(n=40)
    kw, t_max = {}, 10000.0
    if case == "rates grow":                # the Sun's spectra move faster while the whole state contracts
        rates = [1e-3 * (1.0 + 0.01 * (k % 2)) for k in range(len(xs))]
    elif case == "before project_after_myr":
        kw = {"project_after_myr": 1000.0}  # the steps here end at 400 Myr
    elif case == "projection off":
        kw = {"project": False}
    else:                                   # t_max - t_keep leaves fewer than min_project_steps
        t_max = 250.0
    assert _project(SlowModeExtrapolation(**kw), xs, rates, t_max) is None


@pytest.mark.parametrize("law, params, unique", [
    ("new_damping", {}, True),                                   # q = 0 (H22 Sec. 3.5.1)
    ("new_damping_plus_standard", {}, False),                    # linear damping restores q = 1
    ("sc_reference", {}, False), ("sc_only", {}, False), ("new_external", {}, False), ("new_linear", {}, False),
    ("generic", {}, True),                                       # zeta_cr = xi_cr = 0: q = 0
    ("generic", {"zeta_cr": 1.0}, False),                        # q = 1: SC-like, collapses
    ("generic", {"zeta_cr": 1.0, "xi_A": 0.5}, True),            # q = 1/1.5 (NLL-like): steady states exist
    ("generic", {"zeta_A": 1.0}, False),                         # D = 0: degenerate balance
])
def test_only_laws_with_one_steady_state_are_projected(law, params, unique):
    # physics spec Sec. 8, collapse index q = (zeta_cr - xi_cr)/D: q < 1 has one attractor, q >= 1 collapses
    from engine.laws import make_law
    assert make_law(law, params).unique_attractor is unique


def test_engine_reaches_the_same_steady_state_in_fewer_steps():
    # et_yl04: a fixed law with reacceleration, whose approach is slow (40 Myr steps, balanced splitting); the
    # reference is run to a 100 x tighter criterion
    ref = engine.solve(law="et_yl04", criterion=SteadyStateCriterion(tol_per_myr=1e-7, extrapolate=False),
                       t_max_myr=30000.0)
    plain = engine.solve(law="et_yl04", criterion=SteadyStateCriterion(extrapolate=False))
    fast = engine.solve(law="et_yl04")
    assert ref.status == plain.status == fast.status == "steady"
    assert "extrapolation jumps" in fast.message and "extrapolation" not in plain.message
    assert fast.n_steps < 0.7 * plain.n_steps, (fast.n_steps, plain.n_steps)     # measured 84 vs 152
    for name in SPECIES_NAMES:                   # measured: 2.7e-3 (fast), 2.8e-3 (plain), both in pbar
        a = ref.spectra[name]
        m = a > 1e-6 * a.max()
        for r in (plain, fast):
            assert np.max(np.abs(r.spectra[name][m] / a[m] - 1)) < 5e-3, name


def test_a_finite_time_run_is_not_extrapolated():
    # a fixed law is never projected (cheap to step), and et_yl04 cannot meet its criterion by 300 Myr
    a = engine.solve(law="et_yl04", t_max_myr=300.0)
    b = engine.solve(law="et_yl04", t_max_myr=300.0, criterion=SteadyStateCriterion(extrapolate=False))
    assert a.status == b.status == "not-converged" and a.n_steps == b.n_steps
    assert "extrapolation" not in a.message
    np.testing.assert_array_equal(a.spectra["p"], b.spectra["p"])


@pytest.mark.parametrize("kw, field", [({"tol_per_myr": 0.0}, "criterion.tol_per_myr"),
                                       ({"n_consecutive": 2.5}, "criterion.n_consecutive"),
                                       ({"floor": 1.0}, "criterion.floor"),
                                       ({"t_min_myr": -1.0}, "criterion.t_min_myr"),
                                       ({"extrapolate": "yes"}, "criterion.extrapolate"),
                                       ({"project": 1}, "criterion.project")])
def test_a_bad_criterion_is_rejected_naming_the_field(kw, field):
    with pytest.raises(engine.ConfigError, match=field.replace(".", r"\.")):
        SteadyStateCriterion(**kw)


@pytest.mark.slow
def test_a_slow_survey_point_is_projected_to_its_10_gyr_state():
    # a new_damping prior draw whose slowest mode e-folds in ~3 Gyr: stepped through 10 Gyr it took 1138 steps
    # and did not meet the criterion; projected (and then jumped) it is steady at ~7 Gyr in ~390 steps, with
    # the Sun's spectra within 0.4 % of the 10 Gyr ones (measured 2026-11-28)

    p = dict(log10_A_gamma=3.503745894058394, xi_k=0.11147560334877782)
    fast = engine.solve(p, law="new_damping")
    plain = engine.solve(p, law="new_damping", criterion=SteadyStateCriterion(project=False))
    assert "projected" in fast.message and "projected" not in plain.message
    assert fast.n_steps < 0.5 * plain.n_steps, (fast.n_steps, plain.n_steps)
    for name in SPECIES_NAMES:
        a = plain.spectra[name]
        m = a > 1e-4 * a.max()
        assert np.max(np.abs(fast.spectra[name][m] / a[m] - 1)) < 1e-2, name
