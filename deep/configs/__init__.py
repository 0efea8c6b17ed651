"""The deep layer's sweep configurations (found by the collapse.configs entry point; running them needs torch)."""
