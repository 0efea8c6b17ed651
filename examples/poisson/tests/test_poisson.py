"""The plugin held to the toolkit's contract: its family through the driver, its claims against its simulator,
a planted error rejected, its configuration discovered. Runs where the plugin is installed
(pip install -e examples/poisson); skipped otherwise."""

import numpy as np
import pytest

pytest.importorskip("collapse_poisson")

from numerics import catalog  # noqa: E402
from numerics.contract import FamilyContract  # noqa: E402
from numerics.testing import DisagreementError, assert_claim  # noqa: E402
from theory import CLAIMS  # noqa: E402


class TestPoissonFamily(FamilyContract):
    """The toolkit's per-family contract (shapes, seeds, every workflow, the claims at small size)."""

    simulator = "poisson"
    settings = {"n": 10, "rate": 2.0, "workflow": "replace"}


def test_the_plugin_is_discovered():
    assert {"poisson.mean_sq_error", "poisson.extinction"} <= set(CLAIMS)
    assert catalog.get("poisson").provider == "collapse_poisson.simulator"
    from numerics.config import shipped

    assert "poisson" in shipped()


@pytest.mark.parametrize("workflow", ["replace", "accumulate"])
def test_the_closed_form_holds(workflow):
    assert_claim(CLAIMS["poisson.mean_sq_error"].form(workflow=workflow).expr, "poisson.mean_sq_error",
                 at={"workflow": workflow}, trials=20_000)


def test_a_planted_error_is_rejected():
    """Sum 1/j (in place of 1/j^2) for the accumulate pool: off by 0.9 lambda/n at g = 5 (25 standard errors)."""
    with pytest.raises(DisagreementError):
        assert_claim("rate/n*harmonic(g)", "poisson.mean_sq_error", at={"workflow": "accumulate"}, trials=20_000)


def test_extinction_is_certain_in_the_limit():
    claim = CLAIMS["poisson.extinction"]
    values = [claim.evaluate(rate=0.5, n=4, g=g) for g in (1, 10, 100, 1000)]
    assert values[0] == pytest.approx(np.exp(-2.0))  # P(Poisson(n lambda) = 0)
    assert all(a < b for a, b in zip(values, values[1:])) and values[-1] > 0.99
