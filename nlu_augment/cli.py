"""Command line: ``python -m nlu_augment data/nlu --out data/nlu/augmented.yml``.

Reads Rasa NLU YAML (a file, or every NLU file under a folder, skipping files this tool
generated), writes one generated file in the same format, stable order, marked as generated.
Runs in the vision environment (torch, transformers, sentence embeddings); never imports Rasa.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from nlu_augment.annotation import AnnotationError
from nlu_augment.cache import BlobCache, default_cache_dir
from nlu_augment.embeddings import Embedder
from nlu_augment.generators.base import Generator
from nlu_augment.generators.offline import PARAPHRASE_KINDS, OfflineGenerator
from nlu_augment.nlu_yaml import GENERATED_MARKER, NluFormatError, dump_nlu, load_nlu, nlu_files
from nlu_augment.pipeline import NOISE_KINDS, AugmentConfig, Augmenter, AugmentResult
from nlu_augment.report import rules_line, summary_table
from nlu_augment.review import load_rejects, write_review
from nlu_augment.sentiment import BotSentiment

log = logging.getLogger("nlu_augment")
_D = AugmentConfig()


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _unit(value: str) -> float:
    f = float(value)
    if not 0.0 <= f <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 1")
    return f


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; every option documents its default."""
    p = argparse.ArgumentParser(
        prog="python -m nlu_augment",
        description="Grow hand-written Rasa NLU examples into many entity-safe, filtered "
        "paraphrases (Parrot-style, batched, cached, deterministic).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("source", type=Path, help="an NLU YAML file or a folder of them")
    p.add_argument("--out", type=Path, default=None,
                   help="generated file (None: SOURCE/augmented.yml, or SOURCE.augmented.yml)")
    p.add_argument("--seed", type=int, default=_D.seed, help="random seed; same seed, same file")
    p.add_argument("--dry-run", action="store_true", help="print the YAML, write nothing")
    p.add_argument("--max-per-example", type=int, default=_D.max_per_example,
                   help="paraphrases kept per input example (most diverse first)")
    p.add_argument("--embed-budget", type=int, default=_D.embed_budget,
                   help="candidates per example that reach the embedding filters")
    p.add_argument("--adequacy", type=_unit, default=_D.adequacy,
                   help="min cosine similarity (all-MiniLM-L6-v2) of a paraphrase to its source")
    p.add_argument("--near-duplicate", type=_unit, default=_D.near_duplicate,
                   help="drop candidates at least this similar (edit ratio) to the source or a "
                   "sibling")
    p.add_argument("--cross-intent-margin", type=float, default=_D.cross_intent_margin,
                   help="drop a candidate whose nearest other-intent example is closer than its "
                   "own intent's nearest example by more than this")
    p.add_argument("--generators", type=_csv, default="offline",
                   help="comma list of: offline, t5")
    p.add_argument("--offline-kinds", type=_csv, default=",".join(PARAPHRASE_KINDS),
                   help="comma list of offline rules: " + ", ".join(PARAPHRASE_KINDS))
    p.add_argument("--t5-model", default=os.environ.get("EMOTICAL_PARAPHRASE_MODEL"),
                   help="local folder or cached Hugging Face id of a T5 paraphraser "
                   "(env EMOTICAL_PARAPHRASE_MODEL)")
    p.add_argument("--t5-samples", type=int, default=8, help="samples per example from the T5")
    p.add_argument("--t5-batch-size", type=int, default=16, help="examples per T5 forward pass")
    p.add_argument("--swaps-per-example", type=int, default=_D.swaps_per_example,
                   help="copies with entity values swapped from lookups/synonyms")
    p.add_argument("--noise-per-example", type=int, default=_D.noise_per_example,
                   help="noisy copies (typos/casing) per example")
    p.add_argument("--noise-kinds", type=_csv, default=",".join(NOISE_KINDS),
                   help="comma list of: " + ", ".join(NOISE_KINDS))
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="embedding/WordNet cache (default: $EMOTICAL_CACHE_DIR/augment or "
                   "var/cache/augment)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--no-sentiment", action="store_true",
                   help="skip the sentiment-preservation filter (it scores with bot/sentiment.py "
                   "in the bot environment, $EMOTICAL_BOT_PYTHON or .venv/bot/bin/python)")
    p.add_argument("--review", type=Path, default=None,
                   help="also write a review file: every generated example beside its source, "
                   "generator and filter scores, by intent")
    p.add_argument("--rejects", type=Path, default=None,
                   help="a rejects file (`intent: text` lines) whose examples are never written")
    return p


def make_generators(args: argparse.Namespace, cache: Optional[BlobCache]) -> list[Generator]:
    """Instantiate the generators named on the command line."""
    gens: list[Generator] = []
    for name in args.generators:
        if name == "offline":
            gens.append(OfflineGenerator(args.offline_kinds, cache))
        elif name == "t5":
            if not args.t5_model:
                raise ValueError("--generators t5 needs --t5-model (a local model folder)")
            from nlu_augment.generators.seq2seq import Seq2SeqParaphraser, Seq2SeqSettings

            settings = Seq2SeqSettings(num_return_sequences=args.t5_samples,
                                       batch_size=args.t5_batch_size)
            gens.append(Seq2SeqParaphraser(args.t5_model, settings, seed=args.seed))
        else:
            raise ValueError(f"unknown generator {name!r}; choose from offline, t5")
    if not gens:
        raise ValueError("no generator selected")
    return gens


def header_lines(paths: Sequence[Path], args: argparse.Namespace) -> list[str]:
    """The generated-file header: marker, how to regenerate, inputs digest and options."""
    digest = hashlib.sha256()
    for p in paths:
        digest.update(p.as_posix().encode() + b"\0" + p.read_bytes())
    return [
        f"{GENERATED_MARKER}: do not edit by hand. Regenerate with `make augment`, review the "
        "diff, commit.",
        "# inputs: " + ", ".join(p.as_posix() for p in paths),
        f"# inputs sha256: {digest.hexdigest()[:16]}",
        f"# seed {args.seed}; generators {','.join(args.generators)}; offline kinds "
        f"{','.join(args.offline_kinds)}; max/example {args.max_per_example}; adequacy "
        f"{args.adequacy}; near-duplicate {args.near_duplicate}; swaps {args.swaps_per_example}; "
        f"noise {args.noise_per_example} ({','.join(args.noise_kinds)})",
    ]


def run(args: argparse.Namespace) -> AugmentResult:
    """Load, augment, print the summary and write (or print, with --dry-run) the YAML."""
    out = args.out
    if out is None:
        out = args.source / "augmented.yml" if args.source.is_dir() else (
            args.source.with_name(args.source.stem + ".augmented.yml"))
    paths = nlu_files(args.source, exclude=[out])
    if not paths:
        raise NluFormatError(f"no NLU YAML files (with an 'nlu' key) under {args.source}")
    data = load_nlu(paths)
    cache = None
    if not args.no_cache:
        cache = BlobCache((args.cache_dir or default_cache_dir()) / "cache.sqlite")
    config = AugmentConfig(
        seed=args.seed,
        max_per_example=args.max_per_example,
        embed_budget=args.embed_budget,
        adequacy=args.adequacy,
        near_duplicate=args.near_duplicate,
        cross_intent_margin=args.cross_intent_margin,
        swaps_per_example=args.swaps_per_example,
        noise_per_example=args.noise_per_example,
        noise_kinds=args.noise_kinds,
        progress=not args.no_progress,
    )
    started = time.perf_counter()
    embedder = Embedder(cache, progress=not args.no_progress)
    sentiment = None if args.no_sentiment else BotSentiment(cache)
    rejects = load_rejects(args.rejects)
    result = Augmenter(make_generators(args, cache), embedder, config, sentiment,
                       rejects).run(data)
    elapsed = time.perf_counter() - started
    text = dump_nlu(result.examples, header_lines(paths, args))
    n_in = sum(s.inputs for s in result.stats.values())
    n_out = sum(s.total for s in result.stats.values())
    print(summary_table(result.stats), file=sys.stderr)
    print(
        f"{n_in} examples in, {n_out} generated examples out in {elapsed:.1f} s "
        f"({n_in / max(elapsed, 1e-9):.1f} examples/s); embeddings: {embedder.encoded} encoded, "
        f"{embedder.cached} from cache; kept by kind: "
        + ", ".join(f"{k} {v}" for k, v in sorted(result.kinds.items())),
        file=sys.stderr,
    )
    print(rules_line(result, len(rejects)), file=sys.stderr)
    if args.review is not None:
        print(f"review: {write_review(result, args.review)} (reject a line by copying it into "
              f"{args.rejects or 'a rejects file (--rejects)'})", file=sys.stderr)
    if args.dry_run:
        sys.stdout.write(text)
        print(f"dry run: {out} not written", file=sys.stderr)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
        print(f"wrote {out}", file=sys.stderr)
    if cache is not None:
        cache.close()
    return result


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; bad input gives one clear line on stderr and exit status 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except (NluFormatError, AnnotationError, FileNotFoundError, ValueError, RuntimeError) as err:
        print(f"augment: error: {err}", file=sys.stderr)
        return 2
    return 0
