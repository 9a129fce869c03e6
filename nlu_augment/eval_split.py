"""A fixed-seed few-shot split for `make eval-augment`: N examples per intent to train on,
the rest held out. ``python -m nlu_augment.eval_split data/nlu --per-intent 5 --seed 0 --out DIR``
writes DIR/train/train.yml (with the lookups, synonyms and regexes) and DIR/test.yml."""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Optional, Sequence

from nlu_augment.annotation import Example
from nlu_augment.generators.base import stable_seed
from nlu_augment.nlu_yaml import NluData, NluFormatError, dump_nlu, load_nlu, nlu_files


def split(data: NluData, per_intent: int, seed: int) -> tuple[dict, dict]:
    """(train, test) intent->examples; each intent keeps file order within each side."""
    train: dict[str, list[Example]] = {}
    test: dict[str, list[Example]] = {}
    for intent, examples in data.intents.items():
        if len(examples) <= per_intent:
            raise NluFormatError(
                f"intent {intent!r} has {len(examples)} examples; the split needs more than "
                f"{per_intent} to hold some out"
            )
        order = list(range(len(examples)))
        random.Random(stable_seed(seed, intent)).shuffle(order)
        chosen = set(order[:per_intent])
        train[intent] = [e for i, e in enumerate(examples) if i in chosen]
        test[intent] = [e for i, e in enumerate(examples) if i not in chosen]
    return train, test


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Write the split files."""
    p = argparse.ArgumentParser(prog="python -m nlu_augment.eval_split", description=__doc__)
    p.add_argument("source", type=Path)
    p.add_argument("--per-intent", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    try:
        data = load_nlu(nlu_files(args.source))
        train, test = split(data, args.per_intent, args.seed)
    except (NluFormatError, FileNotFoundError) as err:
        print(f"eval_split: error: {err}", file=sys.stderr)
        return 2
    (args.out / "train").mkdir(parents=True, exist_ok=True)
    (args.out / "train" / "train.yml").write_text(dump_nlu(train, data=data), encoding="utf-8")
    (args.out / "test.yml").write_text(dump_nlu(test), encoding="utf-8")
    n_train = sum(map(len, train.values()))
    n_test = sum(map(len, test.values()))
    print(f"eval_split: seed {args.seed}: {n_train} train, {n_test} held-out examples, "
          f"{len(train)} intents -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
