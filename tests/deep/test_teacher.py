"""deep.teacher: the frozen Gaussian-mixture teacher fitted to the 8x8 digits."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from deep.metrics import class_shares  # noqa: E402
from deep.teacher import Teacher, teacher_for, zipf_weights  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def teacher():
    return teacher_for("digits")  # K = 10, seed 0, fitted weights; fitted once per process


@pytest.fixture(scope="module")
def zipf(teacher):
    return teacher_for("digits", weights="zipf", zipf_s=1.0)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    return torch.from_numpy(load_digits().images / 16.0).float()


def test_teacher_is_a_sorted_positive_definite_mixture(teacher):
    assert teacher.components == 10 and teacher.dim == 64 and teacher.event_shape == (8, 8)
    for t in (teacher.weights, teacher.means, teacher.chol):
        assert t.dtype == torch.float64
    assert float(teacher.weights.sum()) == pytest.approx(1.0, abs=1e-12)
    assert bool((teacher.weights[:-1] >= teacher.weights[1:]).all())  # decreasing fitted weight
    eig = torch.linalg.eigvalsh(teacher.covariances)
    assert float(eig.min()) >= 1e-3 * (1 - 1e-9)  # reg_covar = 1e-3 is a floor on every eigenvalue
    assert float((eig[:, -1] / eig[:, 0]).max()) < 1e4  # well conditioned (measured 824)


def test_log_prob_agrees_with_scipy_mixture_of_multivariate_normals(teacher, digits):
    stats = pytest.importorskip("scipy.stats")
    special = pytest.importorskip("scipy.special")
    x, _ = teacher.sample(2, 3, torch.Generator().manual_seed(0))
    points = torch.cat([x.double().reshape(-1, 64), digits[:4].double().reshape(-1, 64)]).numpy()
    w, mu, cov = teacher.weights.numpy(), teacher.means.numpy(), teacher.covariances.numpy()
    comp = np.stack([stats.multivariate_normal(mu[k], cov[k]).logpdf(points) for k in range(teacher.components)], 1)
    want = special.logsumexp(comp + np.log(w), axis=1)
    got = teacher.log_prob(torch.from_numpy(points).reshape(1, -1, 8, 8))
    assert got.shape == (1, points.shape[0]) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy()[0], want, rtol=1e-10, atol=1e-8)
    # the float32 samples themselves (R, m, H, W) -> (R, m)
    assert teacher.log_prob(x).shape == (2, 3)


def test_sample_mean_agrees_with_the_mixture_mean(teacher):
    # n = 10,000 iid draws: each pixel's sample mean has SE sigma_j / sqrt(n), sigma_j^2 the mixture's
    # variance of pixel j; every one of the 64 lies within 4 SE (Bonferroni: P(any beyond) < 64 * 6.3e-5),
    # and n (xbar - mu)^T Sigma^-1 (xbar - mu) is below the 0.999 quantile of chi^2_64 (CLT), fixed seed.
    stats = pytest.importorskip("scipy.stats")
    R, m = 4, 2500
    x, _ = teacher.sample(R, m, torch.Generator().manual_seed(1))
    flat = x.double().reshape(-1, 64)
    n = flat.shape[0]
    mu, Sigma = teacher.mean(), teacher.covariance()
    z = (flat.mean(0) - mu) / (Sigma.diagonal() / n).sqrt()
    assert float(z.abs().max()) < 4.0
    d = flat.mean(0) - mu
    assert float(n * d @ torch.linalg.solve(Sigma, d)) < stats.chi2.ppf(0.999, 64)


def test_component_shares_of_samples_agree_with_the_weights(teacher, zipf):
    # n = 8,000 draws: the share of component k is binomial with SE sqrt(w_k (1 - w_k) / n); every one of
    # the 10 lies within 4 SE (P(any beyond) < 10 * 6.3e-5). The responsibilities' mean has expectation
    # exactly w_k and variance at most w_k (1 - w_k) / n (a [0, 1] variable with mean w_k), so the same
    # bound holds for component_shares. Fixed seeds.
    R, m = 4, 2000
    n = R * m
    for t, seed in ((teacher, 2), (zipf, 3)):
        x, comp = t.sample(R, m, torch.Generator().manual_seed(seed))
        se = (t.weights * (1 - t.weights) / n).sqrt()
        true = class_shares(comp, t.components).mean(0)
        assert bool(((true - t.weights).abs() < 4 * se).all())
        shares = t.component_shares(x)
        assert shares.shape == (R, t.components)
        assert torch.allclose(shares.sum(1), torch.ones(R, dtype=torch.float64))
        assert bool(((shares.mean(0) - t.weights).abs() < 4 * se).all())
        # the tail: the 3 smallest components, SE of a summed share sqrt(W (1 - W) / n)
        W = float(t.weights[t.tail_components(3)].sum())
        assert float(t.tail_mass(x, 3).mean()) == pytest.approx(W, abs=4 * math.sqrt(W * (1 - W) / n))


def test_responsibilities_are_distributions_over_components(teacher):
    x, _ = teacher.sample(2, 5, torch.Generator().manual_seed(4))
    r = teacher.responsibilities(x)
    assert r.shape == (2, 5, 10) and r.dtype == torch.float64
    assert torch.allclose(r.sum(-1), torch.ones(2, 5, dtype=torch.float64))
    assert bool((r >= 0).all())


def test_zipf_weights_sum_to_one_decrease_and_keep_the_components(teacher, zipf):
    w = zipf_weights(10, 1.3)
    k = torch.arange(1, 11, dtype=torch.float64)
    assert torch.allclose(w, k.pow(-1.3) / k.pow(-1.3).sum(), rtol=1e-15)
    for v in (w, zipf.weights):
        assert float(v.sum()) == pytest.approx(1.0, abs=1e-12)
        assert bool((v[:-1] > v[1:]).all())
    assert torch.equal(zipf.means, teacher.means) and torch.equal(zipf.chol, teacher.chol)
    assert torch.equal(zipf.fitted_weights, teacher.weights)
    assert zipf.tail_components(3).tolist() == [9, 8, 7]  # the rare components are the last ones
    assert teacher_for("digits", weights="zipf", zipf_s=1.0) is zipf
    assert teacher_for("digits") is teacher


def test_sampling_is_reproducible_and_leaves_the_global_generator_alone(teacher):
    before = torch.get_rng_state()
    a = teacher.sample(2, 50, torch.Generator().manual_seed(5))
    b = teacher.sample(2, 50, torch.Generator().manual_seed(5))
    c = teacher.sample(2, 50, torch.Generator().manual_seed(6))
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    assert a[0].shape == (2, 50, 8, 8) and a[0].dtype == torch.float32
    assert a[1].shape == (2, 50) and a[1].dtype == torch.long


def test_fit_is_reproducible_for_a_seed(digits):
    a = Teacher.fit(digits[:300], components=3, seed=7)
    b = Teacher.fit(digits[:300], components=3, seed=7)
    assert torch.equal(a.means, b.means) and torch.equal(a.chol, b.chol) and torch.equal(a.weights, b.weights)


def test_teacher_for_refuses_other_images_under_the_same_key(digits):
    teacher_for("digits-subset-test", digits[:200], components=2)
    with pytest.raises(ValueError, match="other images"):
        teacher_for("digits-subset-test", digits[200:400], components=2)
    with pytest.raises(ValueError, match="images are needed"):
        teacher_for("fashion-mnist")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(components=0), "components must be a positive integer"),
        (dict(components=-2), "components must be a positive integer"),
        (dict(components=2.5), "components must be a positive integer"),
        (dict(components=True), "components must be a positive integer"),
        (dict(components=41), "components must be at most the number of images 40"),
        (dict(zipf_s=0.0), "zipf_s must be a positive"),
        (dict(zipf_s=-1.0, weights="zipf"), "zipf_s must be a positive"),
        (dict(zipf_s=float("nan"), weights="zipf"), "zipf_s must be a positive"),
        (dict(weights="uniform"), "weights must be one of"),
        (dict(seed=-1), "seed must be a non-negative integer"),
        (dict(reg_covar=0.0), "reg_covar must be a positive"),
    ],
)
def test_fit_rejects_bad_settings(digits, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Teacher.fit(digits[:40], **kwargs)


def test_fit_rejects_bad_images(digits):
    with pytest.raises(ValueError, match="images is empty"):
        Teacher.fit(digits[:0])
    bad = digits[:40].clone()
    bad[3, 2, 2] = float("nan")
    with pytest.raises(ValueError, match="images contains NaN"):
        Teacher.fit(bad)
    with pytest.raises(ValueError, match="images must have 3 axes"):
        Teacher.fit(digits[:40].reshape(40, 64))


def test_sample_and_densities_reject_bad_inputs(teacher):
    with pytest.raises(ValueError, match="generator"):
        teacher.sample(2, 3, None)
    with pytest.raises(ValueError, match="m must be a positive integer"):
        teacher.sample(2, 0, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="x must be images"):
        teacher.log_prob(torch.zeros(2, 3, 28, 28))
    with pytest.raises(ValueError, match="x contains NaN"):
        teacher.log_prob(torch.full((1, 2, 8, 8), float("nan")))
    with pytest.raises(ValueError, match="k must be at most"):
        teacher.tail_components(11)
