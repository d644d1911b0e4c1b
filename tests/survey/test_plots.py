"""Smoke tests of survey/plots.py with power-law test doubles of engine.Result (no engine needed)."""

import numpy as np
import pytest

from engine.errors import ConfigError
from survey.plots import PANELS, plot_model_vs_data


class PowerLawResult:
    """Test double of engine.Result: analytic observables, ``modulated`` scales fluxes by (x/(x+phi))^2."""

    def __init__(self, norm=1.0, status="steady"):
        R = np.geomspace(0.05, 1e4, 80)
        E = np.geomspace(1e-3, 1e4, 80)
        self.status, self.law = status, "powerlaw"
        self.observables = {
            "p": (R, norm * 1.8e4 * R ** -2.7), "He": (R, norm * 2e3 * R ** -2.6), "e-": (E, 300 * E ** -3.2),
            "B/C": (R, 0.3 * (R / 3) ** -0.4), "10Be/9Be": (E, 0.12 * (1 + E) ** 0.4),
            "pbar/p": (R, np.full_like(R, 2e-4)), "e+/(e+ + e-)": (E, 0.05 + 0.1 * (E / 300) ** 0.6)}

    def modulated(self, phi_GV):
        return {q: (x, y * (x / (x + phi_GV)) ** (0 if "/" in q else 2)) for q, (x, y) in self.observables.items()}


def test_one_figure_six_log_panels_with_units(tmp_path):
    path = tmp_path / "fig.png"
    fig = plot_model_vs_data(PowerLawResult(), phi_GV=0.6, path=path)
    assert path.stat().st_size > 10_000
    axes = fig.get_axes()
    assert len(axes) == len(PANELS) == 6
    assert all(ax.get_xscale() == ax.get_yscale() == "log" for ax in axes)
    assert all("[" in ax.get_xlabel() for ax in axes)          # units on every x axis
    p_ax = axes[0]
    styles = {line.get_linestyle() for line in p_ax.get_lines()}
    assert {"-", "--"} <= styles                                  # modulated solid, LIS dashed
    assert any("Voyager" in t.get_text() for t in p_ax.get_legend().get_texts())


def test_several_results_give_a_band_and_an_empty_list_is_refused(tmp_path):
    fig = plot_model_vs_data([PowerLawResult(), PowerLawResult(0.5), PowerLawResult(status="failed")],
                             phi_GV=0.5, path=tmp_path / "band.pdf")
    assert any(len(ax.collections) > 0 for ax in fig.get_axes())
    with pytest.raises(ConfigError, match="non-empty"):
        plot_model_vs_data([])
    with pytest.raises(ConfigError, match="plot.phi_GV"):
        plot_model_vs_data(PowerLawResult(), phi_GV=-1)
