"""Errata as data (theory.errata): every exact number recomputed, every record on a real claim, and the
documentation's errata page the same as the records."""

from pathlib import Path

import pytest

from theory import CLAIMS
from theory.errata import ERRATA, markdown

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("erratum", ERRATA, ids=[f"erratum{e.number}" for e in ERRATA])
def test_every_exact_number_is_recomputed_to_its_stated_digits(erratum):
    assert erratum.claim in CLAIMS
    checked = erratum.agrees()
    assert checked or all(n.how == "simulated" for n in erratum.numbers.values())
    bad = {k: v for k, v in checked.items() if not v[2]}
    assert not bad, bad


def test_errata_are_numbered_in_order_and_attached_to_their_claims():
    assert [e.number for e in ERRATA] == list(range(1, len(ERRATA) + 1))
    for e in ERRATA:
        assert e in CLAIMS[e.claim].errata
    assert CLAIMS["gaussian.sigma_mean"].errata == []


def test_the_errata_page_lists_exactly_these_errata():
    page = (ROOT / "docs" / "errata.md").read_text()
    assert markdown() in page, "regenerate the errata page with `python docs/generate.py --write`"
