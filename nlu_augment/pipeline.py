"""The augmentation pipeline: generate, filter cheap-first, embed once, filter, select, vary.

Filters, in order (each drop is counted per intent, `FILTERS`): entity, the designer's
rejects file, duplicates, near-copies, grammar (nlu_augment.grammar), the embedding budget,
adequacy, cross-intent, sentiment (nlu_augment.sentiment: the label of `bot/sentiment.py`
must not change; applied to paraphrases and to the swapped and noisy variants alike), then
diversity. Every kept example carries its filter scores for the review file.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import Collection, Optional, Sequence

from tqdm import tqdm

from nlu_augment import filters, grammar
from nlu_augment.annotation import Example, relocate_entities
from nlu_augment.embeddings import Embedder
from nlu_augment.generators.base import (
    Candidate,
    Generator,
    Source,
    mask_entities,
    rng_for,
    stable_seed,
    unmask,
)
from nlu_augment.generators.entity_swap import EntityValuePool
from nlu_augment.generators.noise import casing, typo
from nlu_augment.nlu_yaml import NluData
from nlu_augment.sentiment import Scorer, sentiment_problem

log = logging.getLogger(__name__)

FILTERS = ("entity", "rejected", "duplicate", "near_dup", "grammar", "budget", "adequacy",
           "cross_intent", "sentiment", "diversity")
NOISE_KINDS = ("typos", "casing")


@dataclass(frozen=True)
class AugmentConfig:
    """Knobs of one run (defaults are the documented CLI defaults)."""

    seed: int = 0
    max_per_example: int = 4
    embed_budget: int = 8
    adequacy: float = 0.70
    near_duplicate: float = 0.92
    cross_intent_margin: float = 0.0
    swaps_per_example: int = 2
    noise_per_example: int = 1
    noise_kinds: tuple[str, ...] = NOISE_KINDS
    progress: bool = True


@dataclass
class IntentStats:
    """Counts for one intent: inputs, candidates generated, drops per filter, outputs."""

    inputs: int = 0
    generated: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FILTERS, 0))
    kept: int = 0
    swaps: int = 0
    noise: int = 0

    @property
    def total(self) -> int:
        """Examples written for this intent."""
        return self.kept + self.swaps + self.noise


@dataclass
class AugmentResult:
    """Generated examples per intent (stable order) and the per-intent statistics."""

    examples: dict[str, list[Example]]
    stats: dict[str, IntentStats]
    kinds: dict[str, int] = field(default_factory=dict)
    #: per intent, parallel to ``examples``: (source example, generator kind) of each output
    origins: dict[str, list[tuple[Example, str]]] = field(default_factory=dict)
    #: per intent, parallel to ``examples``: the filter scores of each output (review file)
    scores: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    #: drops per named rule: "grammar:bare_infinitive", "sentiment:label", ...
    rules: dict[str, int] = field(default_factory=dict)
    #: outputs whose sentiment label differs from their source's (None: not measured)
    flips: Optional[int] = None


@dataclass
class _Pending:
    source: Source
    example: Example
    kind: str
    scores: dict[str, float] = field(default_factory=dict)


def reject_key(intent: str, text: str) -> str:
    """How a rejected line is matched: its intent and its case-folded text."""
    return f"{intent}\x00{filters.fold_key(text)}"


def build_sources(data: NluData, seed: int) -> list[Source]:
    """Every hand-written example with its own seed (independent of file order)."""
    return [
        Source(intent, ex, stable_seed(seed, intent, ex.render())) for intent, ex in data.examples()
    ]


class Augmenter:
    """Runs generators and filters over a data set."""

    def __init__(
        self,
        generators: Sequence[Generator],
        embedder: Embedder,
        config: AugmentConfig = AugmentConfig(),
        sentiment: Optional[Scorer] = None,
        rejects: Collection[str] = (),
    ) -> None:
        unknown = set(config.noise_kinds) - set(NOISE_KINDS)
        if unknown:
            raise ValueError(f"unknown noise kinds {sorted(unknown)}; choose from {NOISE_KINDS}")
        self.generators = list(generators)
        self.embedder = embedder
        self.config = config
        self.sentiment = sentiment
        self.rejects = frozenset(rejects)
        self.rules: dict[str, int] = {}

    def run(self, data: NluData) -> AugmentResult:
        """Augment every intent example of ``data``."""
        cfg = self.config
        sources = build_sources(data, cfg.seed)
        stats = {intent: IntentStats() for intent in data.intents}
        kinds: dict[str, int] = {}
        for s in sources:
            stats[s.intent].inputs += 1
        if self.embedder.missing([s.example.text for s in sources]):
            self.embedder.preload()  # load the sentence model while the generators run

        generated = self._generate(sources)
        owner: dict[str, str] = {}
        exact_seen: set[str] = set()
        for s in sources:
            exact_seen.add(filters.exact_key(s.example.text))
            owner.setdefault(filters.fold_key(s.example.text), s.intent)

        pending: list[_Pending] = []
        per_source: list[list[_Pending]] = []
        for source, cands in zip(sources, generated, strict=True):
            st = stats[source.intent]
            st.generated += len(cands)
            survivors = self._cheap_filters(source, cands, st, exact_seen, owner)
            per_source.append(survivors)
            pending.extend(survivors)

        keep = self._embedding_filters(sources, pending, stats)
        self._sentiment_filter([p for p in pending if keep.get(id(p))], keep, stats)
        pool = EntityValuePool.from_data(data)
        kept_keys: set[str] = set()
        intent_kept: dict[str, list[str]] = {intent: [] for intent in data.intents}
        picked: list[tuple[Source, list[_Pending], list[tuple[Example, str]]]] = []
        for source, survivors in zip(sources, per_source, strict=True):
            st = stats[source.intent]
            ok = [p for p in survivors if keep[id(p)]]
            order = filters.pick_diverse(
                source.example.text, [p.example.text for p in ok], len(ok)
            )
            chosen: list[_Pending] = []
            for i in order:
                ex = ok[i].example
                key = filters.exact_key(ex.text)
                if len(chosen) >= cfg.max_per_example:
                    st.dropped["diversity"] += 1
                elif key in kept_keys:
                    st.dropped["duplicate"] += 1
                elif filters.is_near_duplicate(ex.text, intent_kept[source.intent],
                                               cfg.near_duplicate):
                    st.dropped["near_dup"] += 1  # a near-copy of another source's paraphrase
                else:
                    kept_keys.add(key)
                    intent_kept[source.intent].append(ex.text)
                    chosen.append(ok[i])
                    kinds[ok[i].kind] = kinds.get(ok[i].kind, 0) + 1
            st.kept += len(chosen)
            extras = self._variants(source, [p.example for p in chosen], pool,
                                    exact_seen | kept_keys, owner, st)
            kept_keys.update(filters.exact_key(e.text) for e, _ in extras)
            picked.append((source, chosen, extras))
        extra_scores = self._score_variants(picked, stats)
        out: dict[str, list[Example]] = {intent: [] for intent in data.intents}
        origins: dict[str, list[tuple[Example, str]]] = {intent: [] for intent in data.intents}
        scores: dict[str, list[dict[str, float]]] = {intent: [] for intent in data.intents}
        for (source, chosen, extras), extra_score in zip(picked, extra_scores, strict=True):
            for p in chosen:
                out[source.intent].append(p.example)
                origins[source.intent].append((source.example, p.kind))
                scores[source.intent].append(p.scores)
            for (ex, kind), sc in zip(extras, extra_score, strict=True):
                if sc is None:
                    continue
                out[source.intent].append(ex)
                origins[source.intent].append((source.example, kind))
                scores[source.intent].append(sc)
        for name, n in (("swap", sum(s.swaps for s in stats.values())),
                        ("noise", sum(s.noise for s in stats.values()))):
            if n:
                kinds[name] = n
        flips = self._count_flips(out, origins) if self.sentiment is not None else None
        return AugmentResult(out, stats, kinds, origins, scores, dict(sorted(self.rules.items())),
                             flips)

    def _drop(self, st: IntentStats, name: str, rule: Optional[str] = None) -> None:
        st.dropped[name] += 1
        if rule:
            key = f"{name}:{rule}"
            self.rules[key] = self.rules.get(key, 0) + 1

    def _sentiment_filter(self, pending: list[_Pending], keep: dict[int, bool],
                          stats: dict[str, IntentStats]) -> None:
        """Drop paraphrases whose sentiment differs from their source's (one scoring batch)."""
        if self.sentiment is None or not pending:
            return
        texts = [p.source.example.text for p in pending] + [p.example.text for p in pending]
        got = self.sentiment.scores(texts)
        for p, src, cand in zip(pending, got[: len(pending)], got[len(pending):], strict=True):
            p.scores.update(sentiment_source=src[0], sentiment=cand[0])
            rule = sentiment_problem(src, cand)
            if rule:
                keep[id(p)] = False
                self._drop(stats[p.source.intent], "sentiment", rule)

    def _score_variants(
        self, picked: list[tuple[Source, list[_Pending], list[tuple[Example, str]]]],
        stats: dict[str, IntentStats],
    ) -> list[list[Optional[dict[str, float]]]]:
        """Sentiment scores of every swap and noisy copy (None: dropped, it changed the
        sentiment of its source)."""
        if self.sentiment is None:
            return [[{} for _ in extras] for _, _, extras in picked]
        texts = [t for source, _, extras in picked
                 for t in [source.example.text, *(e.text for e, _ in extras)]]
        got = dict(zip(texts, self.sentiment.scores(texts), strict=True))
        out: list[list[Optional[dict[str, float]]]] = []
        for source, _, extras in picked:
            src = got[source.example.text]
            row: list[Optional[dict[str, float]]] = []
            for ex, kind in extras:
                cand = got[ex.text]
                rule = sentiment_problem(src, cand)
                if rule:
                    st = stats[source.intent]
                    if kind == "swap":
                        st.swaps -= 1
                    else:
                        st.noise -= 1
                    self._drop(st, "sentiment", rule)
                    row.append(None)
                else:
                    row.append({"sentiment_source": src[0], "sentiment": cand[0]})
            out.append(row)
        return out

    def _count_flips(self, out: dict[str, list[Example]],
                     origins: dict[str, list[tuple[Example, str]]]) -> int:
        """Outputs, over the whole result, whose sentiment label differs from their source's."""
        assert self.sentiment is not None
        pairs = [(src.text, ex.text) for intent in out
                 for ex, (src, _) in zip(out[intent], origins[intent], strict=True)]
        texts = [t for pair in pairs for t in pair]
        got = dict(zip(texts, self.sentiment.scores(texts), strict=True))
        return sum(1 for a, b in pairs if got[a][1] != got[b][1])

    def _generate(self, sources: list[Source]) -> list[list[Candidate]]:
        merged: list[list[Candidate]] = [[] for _ in sources]
        chunk = 32
        bar = tqdm(total=len(sources) * len(self.generators), desc="generating", unit="example",
                   disable=not self.config.progress)
        for gen in self.generators:
            for i in range(0, len(sources), chunk):
                batch = sources[i : i + chunk]
                for j, cands in enumerate(gen.generate(batch)):
                    merged[i + j].extend(cands)
                bar.update(len(batch))
        bar.close()
        return merged

    def _cheap_filters(
        self,
        source: Source,
        cands: list[Candidate],
        st: IntentStats,
        exact_seen: set[str],
        owner: dict[str, str],
    ) -> list[_Pending]:
        survivors: list[_Pending] = []
        local: set[str] = set()
        for cand in cands:
            example = relocate_entities(source.example, cand.text)
            if example is None:
                st.dropped["entity"] += 1
                continue
            if reject_key(source.intent, example.text) in self.rejects:
                st.dropped["rejected"] += 1
                continue
            key = filters.exact_key(example.text)
            if key in exact_seen or key in local or owner.get(
                filters.fold_key(example.text), source.intent
            ) != source.intent:
                st.dropped["duplicate"] += 1
                continue
            if filters.is_near_duplicate(
                example.text,
                [source.example.text] + [p.example.text for p in survivors],
                self.config.near_duplicate,
            ):
                st.dropped["near_dup"] += 1
                continue
            rule = grammar.problem(source.example.text, example.text)
            if rule:
                self._drop(st, "grammar", rule)
                continue
            local.add(key)
            survivors.append(_Pending(source, example, cand.kind))
        if len(survivors) > self.config.embed_budget:
            picked = sorted(
                filters.pick_diverse(
                    source.example.text, [p.example.text for p in survivors],
                    self.config.embed_budget,
                )
            )
            st.dropped["budget"] += len(survivors) - len(picked)
            survivors = [survivors[i] for i in picked]
        return survivors

    def _embedding_filters(
        self, sources: list[Source], pending: list[_Pending], stats: dict[str, IntentStats]
    ) -> dict[int, bool]:
        if not pending:
            return {}
        texts = [s.example.text for s in sources] + [p.example.text for p in pending]
        vecs = self.embedder.embed(texts)
        src_vecs, cand_vecs = vecs[: len(sources)], vecs[len(sources) :]
        index = {id(s): i for i, s in enumerate(sources)}
        own_src = src_vecs[[index[id(p.source)] for p in pending]]
        cosines = filters.adequacy_scores(own_src, cand_vecs)
        adequate = filters.adequate(cosines, self.config.adequacy)
        affinity, names = filters.intent_affinity(
            cand_vecs, src_vecs, [s.intent for s in sources]
        )
        own_intents = [p.source.intent for p in pending]
        guard, _ = filters.cross_intent_ok(
            affinity, names, own_intents, self.config.cross_intent_margin
        )
        margins = filters.intent_margins(affinity, names, own_intents)
        keep: dict[int, bool] = {}
        for p, ok_adequate, ok_guard, cos, margin in zip(
            pending, adequate, guard, cosines, margins, strict=True
        ):
            p.scores.update(adequacy=float(cos), intent_margin=float(margin))
            st = stats[p.source.intent]
            if not ok_adequate:
                st.dropped["adequacy"] += 1
            elif not ok_guard:
                st.dropped["cross_intent"] += 1
            keep[id(p)] = bool(ok_adequate and ok_guard)
        return keep

    def _variants(
        self,
        source: Source,
        chosen: list[Example],
        pool: EntityValuePool,
        taken: set[str],
        owner: dict[str, str],
        st: IntentStats,
    ) -> list[tuple[Example, str]]:
        """Entity-value swaps and noisy copies of the source and its kept paraphrases."""
        cfg = self.config
        bases = [source.example, *chosen]
        out: list[tuple[Example, str]] = []

        def fresh(ex: Example) -> bool:
            key = filters.exact_key(ex.text)
            if key in taken or owner.get(filters.fold_key(ex.text), source.intent) != source.intent:
                return False
            if reject_key(source.intent, ex.text) in self.rejects:
                st.dropped["rejected"] += 1
                return False
            taken.add(key)
            return True

        rng = rng_for(source, "swap")
        for _ in range(cfg.swaps_per_example):
            base = bases[rng.randrange(len(bases))]
            for ex in pool.swaps(base, rng, 1):
                if fresh(ex):
                    out.append((ex, "swap"))
                    st.swaps += 1
        rng = rng_for(source, "noise")
        for _ in range(cfg.noise_per_example if cfg.noise_kinds else 0):
            base = bases[rng.randrange(len(bases))]
            noisy = _noisy(base, rng, cfg.noise_kinds)
            if noisy is not None and fresh(noisy):
                out.append((noisy, "noise"))
                st.noise += 1
        return out


def _noisy(example: Example, rng: random.Random, kinds: Sequence[str]) -> Optional[Example]:
    masked, surfaces = mask_entities(example)
    kind = kinds[rng.randrange(len(kinds))]
    text = typo(masked, rng) if kind == "typos" else casing(masked, rng)
    if text is None:
        return None
    return relocate_entities(example, unmask(text, surfaces))

