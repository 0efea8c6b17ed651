"""Replica models: image VAEs and autoencoders (images), and the bridge models (gaussian)."""
