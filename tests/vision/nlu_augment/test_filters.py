"""Each filter on crafted cases (embedding filters with the real all-MiniLM-L6-v2)."""

from __future__ import annotations

import numpy as np

from nlu_augment import filters


def test_exact_and_folded_keys() -> None:
    assert filters.exact_key("  show   me boots ") == "show me boots"
    assert filters.fold_key("Show me boots?") == filters.fold_key("show me boots")
    assert filters.exact_key("Show me boots") != filters.exact_key("show me boots")


def test_near_duplicates_are_caught_and_real_paraphrases_are_not() -> None:
    src = "do you have leather bags?"
    assert filters.is_near_duplicate("do you have leather bags", [src], 0.92)
    assert filters.is_near_duplicate("Do you have lether bags?", [src], 0.92)
    assert not filters.is_near_duplicate("i'm looking for leather bags", [src], 0.92)


def test_diversity_picks_the_most_different_first_and_spreads_out() -> None:
    src = "i want red boots"
    cands = ["i want red boots please", "do you have red boots?", "i want red boots, thanks",
             "could you show me red boots?"]
    order = filters.pick_diverse(src, cands, 2)
    assert len(order) == 2
    assert set(order) <= {1, 3}  # the two reworded frames beat the tacked-on suffixes
    assert filters.pick_diverse(src, cands, 0) == []


def test_adequacy_keeps_paraphrases_and_drops_drift(embedder) -> None:
    vecs = embedder.embed([
        "show me red sneakers", "could you show me red sneakers?",
        "show me red sneakers", "demonstrate the weather forecast",
    ])
    scores = filters.adequacy_scores(vecs[[0, 2]], vecs[[1, 3]])
    keep = filters.adequate(scores, 0.70)
    assert keep.tolist() == [True, False], scores


def test_cross_intent_guard_drops_a_candidate_closer_to_another_intent(embedder) -> None:
    examples = ["hi", "hello there", "good morning", "bye", "see you later", "goodbye for now"]
    intents = ["greet"] * 3 + ["goodbye"] * 3
    cands = ["hello, good morning to you", "ok bye, see you"]
    aff, names = filters.intent_affinity(embedder.embed(cands), embedder.embed(examples), intents)
    assert names == ["goodbye", "greet"]
    keep, strayed = filters.cross_intent_ok(aff, names, ["greet", "greet"])
    assert keep.tolist() == [True, False]
    assert strayed == [None, "goodbye"]


def test_embeddings_are_cached_by_content(embedder) -> None:
    a = embedder.embed(["red boots", "blue bags"])
    assert embedder.encoded == 2
    b = embedder.embed(["blue bags", "red boots", "red boots"])
    assert embedder.encoded == 2 and embedder.cached == 2  # the 2nd call encodes nothing
    np.testing.assert_array_equal(a[0], b[1])
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, rtol=1e-5)
