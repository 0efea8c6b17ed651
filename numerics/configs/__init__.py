"""The sweep configurations this layer ships (found by the collapse.configs entry point)."""
