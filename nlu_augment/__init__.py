"""Parrot-style NLU augmentation for conversation designers: entity-safe, filtered, measured.

Runs in the vision environment (``.venv/vision``: torch, transformers, sentence embeddings) and
never imports Rasa; ``python -m nlu_augment --help``. Rasa checks its output in the bot
environment's tests (tests/bot/nlu_augment).
"""
