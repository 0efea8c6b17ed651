"""Simulators that run the real procedures, and the statistics that hold each claim against them."""
