"""survey.agents.outcome_class: the one-word outcome recorded for every evaluated point."""

from types import SimpleNamespace

from survey.agents import outcome_class


def res(status, labels):
    return SimpleNamespace(status=status, outcome=[(0.1 * i, 0.1 * (i + 1), lab) for i, lab in enumerate(labels)])


def test_steady_run_is_its_band_labels():
    assert outcome_class(res("steady", ["steady", "free-streaming", "steady"])) == "free-streaming+steady"
    assert outcome_class(res("steady", [])) == "steady"


def test_unsettled_run_keeps_its_status_and_its_bands():
    label = outcome_class(res("not-converged", ["bottleneck", "not-converged", "steady"]))
    assert label == "not-converged (bottleneck+not-converged+steady)"
    assert outcome_class(res("not-converged", [])) == "not-converged"


def test_failed_run_is_failed():
    assert outcome_class(res("failed", ["steady"])) == "failed"
