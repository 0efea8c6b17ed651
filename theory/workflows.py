"""The data workflows of the model-collapse literature: their names, once, for every layer.

A workflow decides what each generation's model trains on, given the real data and the synthetic
batches sampled from earlier models. Generation 1 always trains on the real data (as in all the
anchors). The names follow Kazdan et al. 2024, Gerstgrasser et al. 2024 and Dey & Donoho 2024;
``numerics.workflows`` implements them as plans (which stored batches, which rows of them), for numpy
arrays, torch tensors and token corpora alike; the claims of ``theory`` use the first four.
"""

from __future__ import annotations

#: Every workflow, with what the next model trains on.
WORKFLOWS: dict[str, str] = {
    "replace": "the latest synthetic batch only (Shumailov et al.'s 'discard')",
    "accumulate": "the real data and every synthetic batch so far (Gerstgrasser et al.'s 'augment')",
    "accumulate-subsample": "n points drawn without replacement from the accumulated pool (fixed compute; the survey's 'sub')",
    "accumulate-subsample-replacement": "n points drawn with replacement from the accumulated pool (the survey's 'sub-repl')",
    "real-fraction": "a fixed share of real points (drawn afresh), the rest from the latest batch (Shumailov et al.'s 10% preservation)",
    "real-plus-synthetic": "every real point plus the latest synthetic batch (Kazdan et al.'s scarce-real n_real x n_syn setting)",
}

#: The workflows the closed forms distinguish (the ``workflow`` choice of the claims).
CLAIM_WORKFLOWS: tuple[str, ...] = ("replace", "accumulate", "accumulate-subsample", "accumulate-subsample-replacement")


def check_workflow(workflow: object) -> str:
    """``workflow`` if it is a workflow name; ``ValueError`` naming the choices otherwise."""
    if workflow not in WORKFLOWS:
        raise ValueError(f"workflow must be one of {', '.join(WORKFLOWS)}; got {workflow!r}")
    return workflow  # type: ignore[return-value]
