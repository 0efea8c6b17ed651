"""Defaults shared by the numerical layer's commands (kept free of imports: the command line reads them
while it builds its parser, and `collapse list` must not import numpy)."""

#: Default number of independent trials per simulation of `collapse verify` and `collapse check`.
DEFAULT_TRIALS = 20_000

#: Family-wise significance level of `collapse verify` and `collapse check`.
ALPHA = 0.01

#: Below this many trials the verification table's tests are not calibrated for every claim (the
#: ratio, variance and convergence-study rows rely on large-sample approximations); a run with fewer
#: gets a warning. Calibration was measured at 1,500-4,000 trials (tests/numerics/test_verify.py).
CALIBRATED_TRIALS = 1000
