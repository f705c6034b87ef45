"""Benchmarks of fmnist-tui: accuracy on the real data, and what the app costs while it trains.

``uv run python -m bench`` runs them all (see ``bench.__main__`` and ``BENCHMARKS.md``).
``bench/gpu_tune.py`` and ``bench/gpu_tune.sh`` are the separate GPU tuning scripts, run on a
box with Keras on JAX and no TensorFlow; their results are in ``bench/results/gpu/``.
"""
