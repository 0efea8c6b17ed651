"""The trainer: replicas are independent, budgets are what they say, a NaN loss is one clear error."""

import math

import pytest

torch = pytest.importorskip("torch")

from deep.models.gaussian import AffineGaussian, GaussianConfig  # noqa: E402
from deep.models.images import MLPVAE, VAEConfig  # noqa: E402
from deep.replica import generator  # noqa: E402
from deep.train import Budget, TrainingError, batches, evaluate, param_groups, take, train  # noqa: E402


def test_replica_gradients_are_each_replicas_own():
    """The summed loss gives replica r exactly the gradient it would get alone."""
    torch.set_num_threads(1)
    model = MLPVAE(VAEConfig(hidden=(16,), latent=3), 3, generator=generator(0))
    x = torch.rand(3, 10, 8, 8, generator=generator(1))
    eps = torch.randn(3, 10, 3, generator=generator(2))
    model.loss(x, eps=eps).sum().backward()
    for r in range(3):
        alone = model.select(r)
        alone.zero_grad()
        alone.loss(x[r:r + 1], eps=eps[r:r + 1]).sum().backward()
        for (name, p), q in zip(model.named_parameters(), alone.parameters()):
            torch.testing.assert_close(p.grad[r:r + 1], q.grad, rtol=1e-5, atol=1e-6, msg=name)


def test_minibatches_walk_a_permutation_per_replica_and_epoch():
    rows = torch.cat(list(batches(2, 10, 5, 4, generator(0), "cpu")), dim=1)  # 2 epochs
    for r in range(2):
        assert sorted(rows[r, :10].tolist()) == list(range(10)) and sorted(rows[r, 10:].tolist()) == list(range(10))
    assert rows[0].tolist() != rows[1].tolist()


def test_budget_steps_and_epochs():
    assert Budget(steps=7).total_steps(1000) == 7
    assert Budget(epochs=2, batch=64).total_steps(100) == math.ceil(200 / 64)
    assert Budget(epochs=1, batch=0).total_steps(100) == 1  # full batch
    for kw, msg in [({}, "give steps or epochs"), ({"steps": 3, "epochs": 1}, "give steps or epochs"),
                    ({"steps": 0}, "steps must be"), ({"epochs": -1}, "epochs must be"),
                    ({"steps": 1, "lr": float("nan")}, "lr must be"), ({"steps": 1, "optimizer": "lbfgs"}, "optimizer")]:
        with pytest.raises(ValueError, match=msg):
            Budget(**kw)


def test_training_reduces_the_loss_and_is_reproducible():
    torch.set_num_threads(1)
    x = torch.randn(4, 50, 2, generator=generator(3)) * 2 + 1
    losses = []
    for _ in range(2):
        model = AffineGaussian(GaussianConfig(2), 4, generator=generator(4))
        before = evaluate(model, x, generator(5))
        train(model, x, Budget(steps=100, batch=16, lr=0.05), generator(6))
        losses.append(evaluate(model, x, generator(5)))
        assert (losses[-1] < before).all()
    torch.testing.assert_close(losses[0], losses[1], rtol=0, atol=0)


def test_a_nan_loss_stops_training_with_one_line():
    model = AffineGaussian(GaussianConfig(1), 2, generator=generator(0))
    x = torch.randn(2, 20, 1, generator=generator(1))
    x[1, 3, 0] = float("nan")
    with pytest.raises(TrainingError, match=r"loss of replica 1 is nan at step 1 of 5; lower the learning rate"):
        train(model, x, Budget(steps=5, batch=0), generator(2))


def test_bad_training_data_are_refused():
    model = AffineGaussian(GaussianConfig(2), 2, generator=generator(0))
    with pytest.raises(ValueError, match="shape"):
        train(model, torch.zeros(3, 5, 2), Budget(steps=1), generator(1))
    with pytest.raises(ValueError, match="empty"):
        train(model, torch.zeros(2, 0, 2), Budget(steps=1), generator(1))
    with pytest.raises(ValueError, match="generator"):
        train(model, torch.zeros(2, 5, 2), Budget(steps=1), None)


def small_transformer(R):
    from deep.language.models import Transformer, TransformerConfig
    model = Transformer(TransformerConfig(vocab=5, window=8, width=16, layers=1, heads=2), R)
    model.reset_parameters(generator(0))
    return model


def test_no_weight_decay_is_plain_adam_bit_for_bit():
    """weight_decay = 0 (the default) is the trainer's Adam loop exactly: minibatches, cosine decay."""
    torch.set_num_threads(1)
    x = torch.randint(0, 5, (2, 40, 8), generator=generator(1))
    budget = Budget(steps=15, batch=8, lr=3e-2, decay=True)
    assert budget.weight_decay == 0.0
    trained = small_transformer(2)
    train(trained, x, budget, generator(2))
    ref = small_transformer(2)  # the loop by hand, with torch.optim.Adam over every parameter
    opt = torch.optim.Adam(ref.parameters(), lr=budget.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 15)
    gen = generator(2)
    for idx in batches(2, 40, 8, 15, gen, "cpu"):
        loss = ref.loss(take(x, idx), gen)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
        sched.step()
    for (name, p), q in zip(trained.named_parameters(), ref.parameters()):
        assert torch.equal(p, q), name


def test_the_fused_optimiser_is_the_plain_one_to_rounding():
    """Budget.fused (the bridge's) is torch's fused Adam kernel: the same steps as the plain loop, to float32
    rounding (a full batch and cosine decay, as the bridge trains)."""
    torch.set_num_threads(1)
    x = 1.5 * torch.randn(3, 20, 2, generator=generator(1))
    fits = []
    for fused in (False, True):
        model = AffineGaussian(GaussianConfig(2), 3, generator=generator(0))
        train(model, x, Budget(steps=100, batch=0, lr=0.2, decay=True, fused=fused), generator(2))
        fits.append(list(model.parameters()))
    for p, q in zip(*fits):
        torch.testing.assert_close(q, p, rtol=1e-4, atol=1e-5)


def test_weight_decay_acts_on_the_matrices_only():
    model = small_transformer(2)
    names = {id(p): n for n, p in model.named_parameters()}
    groups = param_groups(model, 0.1)
    decayed, kept = ({names[id(p)] for p in g["params"]} for g in groups)
    assert decayed == {"wte", "wpe", "head.weight"} | {f"blocks.0.{k}.weight" for k in ("qkv", "proj", "fc", "out")}
    linear = {f"blocks.0.{k}.bias" for k in ("qkv", "proj", "fc", "out")} | {"head.bias"}
    norms = {f"{ln}.{w}" for ln in ("blocks.0.ln1", "blocks.0.ln2", "lnf") for w in ("weight", "bias")}
    assert kept == linear | norms
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0]
    with pytest.raises(ValueError, match="weight_decay must be"):
        Budget(steps=1, weight_decay=-0.1)


def test_weight_decay_is_per_replica_and_shrinks_the_weights():
    """A replica trained alone with AdamW's decay ends where it ends inside the batch; with decay the
    decayed weights end smaller (every replica) than without."""
    torch.set_num_threads(1)
    R = 3
    x = torch.randint(0, 5, (R, 20, 8), generator=generator(1))  # full batch: the same data alone and batched
    with_wd = Budget(steps=40, batch=0, lr=3e-2, weight_decay=0.5)
    batched = small_transformer(R)
    train(batched, x, with_wd, generator(2))
    alone = small_transformer(R).select([1])
    train(alone, x[1:2], with_wd, generator(2))
    for (name, p), q in zip(batched.named_parameters(), alone.parameters()):
        torch.testing.assert_close(p[1:2], q, rtol=1e-5, atol=1e-6, msg=name)
    plain = small_transformer(R)
    train(plain, x, Budget(steps=40, batch=0, lr=3e-2), generator(2))

    def norms(model):
        decayed = param_groups(model, 1.0)[0]["params"]
        return torch.stack([p.detach().reshape(R, -1).norm(dim=1) for p in decayed]).norm(dim=0)

    # the decay alone would scale them by (1 - lr * 0.5)^40 = 0.55; with the gradients measured 0.72-0.74
    assert (norms(batched) < 0.9 * norms(plain)).all()


def test_a_run_past_its_memory_budget_stops_in_one_line(monkeypatch):
    """The backstop of the sizing done before a run: training stops with a MemoryBudgetError naming the step
    when the process holds more than its budget (here a budget of 1 byte), and runs under a real budget."""
    from deep import train as tr
    from theory.errors import UserError

    model = MLPVAE(VAEConfig(event_shape=(2, 2), hidden=(8,), latent=2), 2, generator=generator(0))
    data = torch.rand((2, 16, 2, 2), generator=generator(1))
    tr.train(model, data, tr.Budget(steps=2, batch=4), generator(2))  # the machine's budget: runs
    monkeypatch.setenv("COLLAPSE_MEMORY_LIMIT", "1")
    with pytest.raises(tr.MemoryBudgetError, match=r"training step 1 of 2: this process holds .* past its budget") as e:
        tr.train(model, data, tr.Budget(steps=2, batch=4), generator(2))
    assert isinstance(e.value, UserError) and "\n" not in str(e.value)
