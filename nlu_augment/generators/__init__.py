"""Paraphrase generators behind one interface (see base.Generator)."""

from nlu_augment.generators.base import Candidate, Generator, Source, stable_seed

__all__ = ["Candidate", "Generator", "Source", "stable_seed"]
