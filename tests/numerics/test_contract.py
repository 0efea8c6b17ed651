"""Every numpy simulator held to the one family contract (numerics.contract), at small sizes."""

from numerics.contract import FamilyContract


class TestGaussian(FamilyContract):
    simulator = "gaussian"
    settings = {"d": 2, "n": 10, "workflow": "replace"}
    nonfinite = ("sigma", "log_var")  # d = 2: the 1-D standard deviation is not defined


class TestRegression(FamilyContract):
    simulator = "regression"
    settings = {"d": 3, "T": 10, "workflow": "accumulate"}


class TestRidge(FamilyContract):
    simulator = "ridge"
    settings = {"d": 3, "T": 12, "T0": 12, "lam": 0.1}
    nonfinite = ("increment",)  # NaN at generation 0 (no generation to divide by)


class TestMinNorm(FamilyContract):
    simulator = "min-norm"
    settings = {"d": 10, "T0": 4}


class TestKDE(FamilyContract):
    simulator = "kde"
    settings = {"n": 20, "workflow": "replace", "h": 0.3}


class TestLogistic(FamilyContract):
    simulator = "logistic"
    settings = {"n": 200, "workflow": "replace"}


class TestCategorical(FamilyContract):
    simulator = "categorical"
    settings = {"n": 20, "K": 5, "workflow": "replace"}
