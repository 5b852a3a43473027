"""ccmon's benchmarks: every figure of issue 6, each measured against its limit in the same run.

Run ``python -m bench`` (see bench/README.md). Nothing here is imported by ccmon itself.
"""
