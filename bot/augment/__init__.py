"""Parrot-style NLU augmentation for conversation designers: entity-safe, filtered, measured.

Run ``python -m bot.augment --help``. Vision environment only (torch, transformers, sentence
embeddings); this package never imports Rasa.
"""
