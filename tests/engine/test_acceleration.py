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
    jump = None
    for k in range(1, len(xs)):
        jump = ex.propose(xs[k], xs[k] - xs[k - 1], 10.0, 1e-3, 1e-5, 10.0 * k, t_max)
        if jump is not None:
            return k, jump
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
        x = x_new if jump is None else jump
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
    a = engine.solve(law="et_yl04", t_max_myr=300.0)
    b = engine.solve(law="et_yl04", t_max_myr=300.0, criterion=SteadyStateCriterion(extrapolate=False))
    assert a.status == b.status == "not-converged" and a.n_steps == b.n_steps
    assert "extrapolation" not in a.message
    np.testing.assert_array_equal(a.spectra["p"], b.spectra["p"])


@pytest.mark.parametrize("kw, field", [({"tol_per_myr": 0.0}, "criterion.tol_per_myr"),
                                       ({"n_consecutive": 2.5}, "criterion.n_consecutive"),
                                       ({"floor": 1.0}, "criterion.floor"),
                                       ({"t_min_myr": -1.0}, "criterion.t_min_myr"),
                                       ({"extrapolate": "yes"}, "criterion.extrapolate")])
def test_a_bad_criterion_is_rejected_naming_the_field(kw, field):
    with pytest.raises(engine.ConfigError, match=field.replace(".", r"\.")):
        SteadyStateCriterion(**kw)
