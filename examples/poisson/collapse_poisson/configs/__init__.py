"""The plugin's sweep configurations (found by its collapse.configs entry point)."""
