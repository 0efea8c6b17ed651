"""Language models through the workflows: a known-truth Markov language, real text, n-gram and transformer
replica models, their generational families and catalog simulators ("lm-markov", "lm-bridge", "lm-text")."""
