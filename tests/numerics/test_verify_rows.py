"""What `collapse verify` checks is pinned: no (claim, variant, simulator, check) row appears or disappears
without tests/numerics/verify_rows.txt changing with it; and a declared check that cannot be built is an
error that names the claim (exit status 2), never a silent skip."""

from pathlib import Path

import pytest

from numerics.cli import rows_list
from numerics.verify import VerifyError, default_items
from theory import CLAIMS, plugins
from theory.checks import Point

PINNED = Path(__file__).with_name("verify_rows.txt")


def _own(cid: str) -> bool:
    """A claim of the toolkit itself (installed plugins add rows of their own, pinned by their own tests)."""
    return plugins.is_own(CLAIMS[cid].provider)


def test_the_verified_rows_are_the_pinned_ones():
    items, skipped = default_items()
    items = [it for it in items if _own(it.claim)]
    skipped = {k: v for k, v in skipped.items() if _own(k)}
    now = rows_list(items, skipped)
    assert now == PINNED.read_text(), (
        "the rows collapse verify checks changed; if that is intended, regenerate the list with "
        "collapse verify --list > tests/numerics/verify_rows.txt (with no plugin installed) and say why in the commit")


def test_every_claim_is_verified_or_says_why_not():
    lines = PINNED.read_text().splitlines()
    named = {line.split(" | ")[0] for line in lines}
    assert {cid for cid in CLAIMS if _own(cid)} == named
    assert all(" | not simulated: " not in line or line.split(": ", 1)[1].strip() for line in lines)


@pytest.fixture
def broken_claim():
    """A claim of a known quantity whose check gives a point no simulator can run (T = 1 fits no chain)."""
    base = CLAIMS["gaussian.sigma2_mean"]
    import dataclasses

    claim = dataclasses.replace(base, id="test.broken", checks=(Point({"sigma": 1.0, "T": 1}, generations=(1,)),),
                                _forms={})
    CLAIMS._claims["test.broken"] = claim
    yield claim
    CLAIMS._claims.pop("test.broken")


def test_a_check_that_cannot_be_built_is_an_error(broken_claim):
    with pytest.raises(VerifyError, match=r"test.broken .*check 1 cannot be checked on gaussian: .*T must be >= 2"):
        default_items(["test.broken"])


def test_collapse_verify_exits_non_zero_on_it(broken_claim, capsys):
    from collapse.cli import main

    assert main(["verify", "test.broken", "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert "test.broken" in err and "cannot be checked" in err and len(err.strip().splitlines()) == 1
