"""Benchmarks: measured on the running system, results in bench/results/."""
