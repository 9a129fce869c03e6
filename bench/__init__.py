"""Benchmarks behind `make bench` and `make bench-*`: runs in the vision environment (`.venv/vision`).

The bot's figures are measured from outside, over HTTP against a stack of real processes
(`stack`), so no module here imports Rasa; the sidecar and augmentation ones run in process.
"""
