"""A seq2seq paraphrase model (Parrot's T5 or any compatible one) through transformers, batched.

The model is loaded from a local folder or from the local Hugging Face cache only
(``local_files_only``): nothing is downloaded at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from nlu_augment.generators.base import Candidate, Source, stable_seed


@dataclass(frozen=True)
class Seq2SeqSettings:
    """Generation settings; the defaults follow Parrot (top-k 50, top-p 0.95, 32 tokens)."""

    prefix: str = "paraphrase: "
    num_return_sequences: int = 8
    batch_size: int = 16
    max_length: int = 32
    top_k: int = 50
    top_p: float = 0.95


class Seq2SeqParaphraser:
    """Sampling paraphrases from a text-to-text model, many sources per forward pass."""

    name = "t5"

    def __init__(self, model: str, settings: Seq2SeqSettings = Seq2SeqSettings(), seed: int = 0):
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        self.settings = settings
        self.seed = seed
        self._torch = torch
        where = str(Path(model)) if Path(model).exists() else model
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=True)
            self.model = AutoModelForSeq2SeqLM.from_pretrained(where, local_files_only=True)
        except (OSError, ValueError) as err:
            raise RuntimeError(
                f"cannot load a seq2seq model from {model!r}: give a local folder with config, "
                "weights and tokenizer, or a model id already in the Hugging Face cache "
                "(nothing is downloaded)"
            ) from err
        self.model.eval()

    def generate(self, sources: Sequence[Source]) -> list[list[Candidate]]:
        """``num_return_sequences`` samples per source, deduplicated, in sampling order."""
        s = self.settings
        results: list[list[Candidate]] = []
        for i in range(0, len(sources), s.batch_size):
            batch = sources[i : i + s.batch_size]
            inputs = self.tokenizer(
                [s.prefix + src.example.text for src in batch],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=s.max_length,
            )
            gen = self._torch.Generator().manual_seed(
                stable_seed(self.seed, *(src.seed for src in batch)) % (2**31)
            )
            self._torch.manual_seed(int(self._torch.randint(0, 2**31 - 1, (1,), generator=gen)))
            with self._torch.no_grad():
                out = self.model.generate(
                    **inputs,
                    do_sample=True,
                    top_k=s.top_k,
                    top_p=s.top_p,
                    max_length=s.max_length,
                    num_return_sequences=s.num_return_sequences,
                )
            texts = self.tokenizer.batch_decode(out, skip_special_tokens=True)
            for j, src in enumerate(batch):
                seen: set[str] = set()
                cands = []
                for text in texts[j * s.num_return_sequences : (j + 1) * s.num_return_sequences]:
                    text = " ".join(text.split())
                    if text and text not in seen and text != src.example.text:
                        seen.add(text)
                        cands.append(Candidate(text, self.name))
                results.append(cands)
        return results
