"""The bridge: models trained by the deep loop whose optimum is the Gaussian MLE reproduce the claims."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from numerics import catalog  # noqa: E402
from theory import CLAIMS  # noqa: E402

#: |z| below this per comparison: two-sided p = 6e-5, so 16 comparisons fail together with p < 1e-3.
Z_MAX = 4.0


def _run(model, workflow, trials=400, generations=4, seed=0, **kw):
    sim = catalog.get("bridge")
    settings = sim.resolve({"model": model, "d": 2, "n": 10, "workflow": workflow, **kw})
    return sim.call(trials, np.random.default_rng(seed), settings, generations,
                    ["mean_sq_error", "trace_ratio", "opt_mean", "opt_trace"])


@pytest.mark.parametrize("model,workflow", [("affine", "replace"), ("affine", "accumulate-subsample"),
                                            ("linear-vae", "accumulate")])
def test_bridge_matches_the_mle_claims(model, workflow):
    out = _run(model, workflow)
    R, G = out["trace"].shape
    # The optimisation error is small beside the sampling error: the bias it can cause is far below 1 SE.
    assert out["opt_trace"].max() < 1e-2 and out["opt_trace"].mean() < 1e-4
    assert out["opt_mean"].max() < 1e-3  # in units of the mean's sampling variance
    for quantity, claim, values in [("mean_sq_error", "mvgaussian.mean_sq_error", out["mean_sq_error"]),
                                    ("trace_ratio", "mvgaussian.trace_ratio", out["trace"] / 2)]:
        for t in range(1, G + 1):
            v = values[:, t - 1]
            theory = CLAIMS[claim].evaluate(sigma2=1, d=2, n=10, t=t, estimator="mle", workflow=workflow)
            z = (v.mean() - theory) / (v.std(ddof=1) / np.sqrt(R))
            assert abs(z) < Z_MAX, f"{claim} t={t}: theory {theory:.5f}, estimate {v.mean():.5f}, z {z:.2f}, seed 0"


def test_a_planted_error_is_rejected():
    """The same test tells the unbiased formula from the MLE chain the bridge runs."""
    out = _run("affine", "replace", generations=4)
    v = out["trace"][:, 3] / 2
    wrong = CLAIMS["mvgaussian.trace_ratio"].evaluate(sigma2=1, d=2, n=10, t=4, estimator="unbiased", workflow="replace")
    assert abs((v.mean() - wrong) / (v.std(ddof=1) / np.sqrt(len(v)))) > Z_MAX


def test_decoder_means_shrink_the_linear_vae_by_its_noise():
    """The 'mean' rule samples W z + mu: covariance W W^T = C - s^2 I, so the trace falls faster."""
    anc = _run("linear-vae", "replace", trials=100, generations=3)["trace"][:, -1].mean()
    mean = _run("linear-vae", "replace", trials=100, generations=3, rule="mean")["trace"][:, -1].mean()
    assert mean < 0.9 * anc


def test_bridge_rows_are_in_verify():
    from numerics.verify import default_items

    items, _ = default_items(["mvgaussian.trace_ratio", "gaussian.sigma2_mean"])
    bridge = [it for it in items if it.sim.name == "bridge"]
    assert {it.settings[None]["model"] for it in bridge} == {"affine", "linear-vae"}
    assert {it.simulator for it in bridge} == {"bridge[affine]", "bridge[linear-vae]"}  # rows name their model
    assert {it.variant.get("workflow") for it in bridge if it.claim == "mvgaussian.trace_ratio"} == {
        "replace", "accumulate", "accumulate-subsample"}
    assert all(it.variant["estimator"] == "mle" and "deep bridge" in it.produces.note for it in bridge)


def test_the_affine_loss_through_sufficient_statistics_is_the_per_point_loss():
    """The affine model's loss from the batch's mean and covariance against the per-point negative
    log-likelihood 0.5 ||U^T (x - mu)||^2 - sum log U_ii + (d/2) log 2 pi, averaged over the points: equal values
    and equal gradients for every parameter, to float32 rounding (the sums differ in their order only)."""
    from deep.models.gaussian import LOG_2PI, AffineGaussian, GaussianConfig

    g = torch.Generator().manual_seed(0)
    model = AffineGaussian(GaussianConfig(5), 7, generator=g)
    x = 1.5 * torch.randn(7, 40, 5, generator=g) + 0.7
    y = (x - model.mu.unsqueeze(1)) @ model.precision_chol()
    plain = 0.5 * y.pow(2).sum(-1).mean(1) - model.log_diag.sum(-1) + 0.5 * 5 * LOG_2PI
    fast = model.loss(x)
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)
    for p, gp, gf in zip(model.parameters(), torch.autograd.grad(plain.sum(), list(model.parameters())),
                         torch.autograd.grad(fast.sum(), list(model.parameters()))):
        torch.testing.assert_close(gf, gp, rtol=1e-4, atol=1e-5)


def test_the_linear_vae_loss_through_sufficient_statistics_is_the_per_point_loss():
    """The linear VAE's negative ELBO from the batch's mean and covariance against its per-point form
    0.5 (||x - m W^T - mu||^2 + Tr(W diag(v) W^T)) / s^2 + (d/2) log(2 pi s^2) + 0.5 (||m||^2 + sum(v - 1 - log v)),
    m = x A^T + b, averaged over the points: equal values and gradients, to float32 rounding; and the moments
    computed once (what deep.train passes at a full batch) give the same numbers as the points."""
    from deep.models.gaussian import LOG_2PI, GaussianConfig, LinearVAE

    g = torch.Generator().manual_seed(0)
    model = LinearVAE(GaussianConfig(5, latent=3), 7, generator=g)
    with torch.no_grad():
        model.log_v.uniform_(-1, 1, generator=g)
        model.log_s2.uniform_(-1, 1, generator=g)
    x = 1.5 * torch.randn(7, 40, 5, generator=g) + 0.7
    m = torch.baddbmm(model.enc_bias.unsqueeze(1), x, model.enc)
    resid = x - torch.baddbmm(model.mu.unsqueeze(1), m, model.dec)
    v, s2 = model.log_v.exp(), model.log_s2.exp()
    spread = (v.unsqueeze(-1) * model.dec.pow(2)).sum((1, 2))
    plain = (0.5 * (resid.pow(2).sum(-1).mean(1) + spread) / s2 + 0.5 * 5 * (model.log_s2 + LOG_2PI)
             + 0.5 * (m.pow(2).sum(-1).mean(1) + (v - 1 - model.log_v).sum(-1)))
    fast = model.loss(x)
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)
    assert torch.equal(model.loss(model.batch_summary(x)), fast)
    for p, gp, gf in zip(model.parameters(), torch.autograd.grad(plain.sum(), list(model.parameters())),
                         torch.autograd.grad(fast.sum(), list(model.parameters()))):
        torch.testing.assert_close(gf, gp, rtol=1e-4, atol=1e-5)
