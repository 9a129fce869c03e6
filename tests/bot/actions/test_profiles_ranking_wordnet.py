"""Tag-weight arithmetic, least-known tag, ranking and WordNet relating (pure, no Redis)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from actions.catalog import Product, load_catalog
from actions.profiles import least_known_tag, step_weight
from actions.ranking import profile_is_empty, recommend
from actions.wordnet_tags import TagRelater
from tests.bot.actions.conftest import ROOT


def test_steps_diminish_and_stay_bounded() -> None:
    w, steps = 0.0, []
    for _ in range(30):
        new = step_weight(w, 0.35)
        steps.append(new - w)
        w = new
    assert 0.99 < w <= 1.0
    assert all(b < a for a, b in itertools.pairwise(steps)), "steps must shrink"
    assert step_weight(-1.0, -1.0) == -1.0 and step_weight(1.0, 5.0) == 1.0
    assert step_weight(0.8, -0.5) == pytest.approx(0.8 - 0.5 * 1.8)


def test_least_known_tag_prefers_fewest_observations_then_uncertainty() -> None:
    tags = ["red", "leather", "casual", "formal"]
    counts = {"red": 3, "leather": 1, "casual": 1, "formal": 2}
    weights = {"leather": 0.7, "casual": -0.1}
    assert least_known_tag(tags, weights, counts) == "casual"
    assert least_known_tag(tags, weights, counts, exclude={"casual"}) == "leather"
    assert least_known_tag(tags, {}, {}) == "red"  # catalog order breaks ties
    assert least_known_tag(tags, {}, {}, exclude=tags) is None


def _catalog() -> Any:
    return load_catalog(ROOT / "data" / "catalog")


def test_ranking_follows_weights_and_names_the_reason() -> None:
    catalog = _catalog()
    recs = recommend(catalog, {"red": 0.8, "silk": 0.6, "formal": -0.5}, k=3)
    assert recs[0].product.id == "scar-02"  # red silk scarf: red + silk, nothing formal
    assert recs[0].drivers == ("red", "silk")
    assert recs[0].reason() == "you like red and silk"
    assert "dres-01" in [r.product.id for r in recs]  # red silk but formal: lower
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)


def test_unseen_products_come_first_and_category_filters() -> None:
    catalog = _catalog()
    weights = {"red": 1.0}
    top = recommend(catalog, weights, k=1)[0].product.id
    recs = recommend(catalog, weights, seen={top}, k=3)
    assert top not in [r.product.id for r in recs]
    only_bags = recommend(catalog, weights, category="bags", k=5)
    assert {r.product.category for r in only_bags} == {"bags"}
    assert only_bags[0].product.id == "bags-03"  # the red crossbody


def test_cold_start_profile_is_detected() -> None:
    assert profile_is_empty({}) and profile_is_empty({"red": 0.0})
    assert not profile_is_empty({"red": 0.1})


@pytest.fixture(scope="module")
def relater() -> TagRelater:
    r = TagRelater(_catalog().tags, use_wordnet=True, related_factor=0.5)
    r.warm_up(background=False)
    assert r.wordnet_available, "WordNet missing: run `make setup` (scripts/setup.d/40-wordnet.sh)"
    return r


@pytest.mark.parametrize(
    ("word", "tag", "strength"),
    [
        ("red", "red", 1.0),
        ("Leather", "leather", 1.0),
        ("boots", None, None),  # a category word, not a tag
        ("scarlet", "red", 0.5),  # synonym in an adjective sense / hyponym of red
        ("crimson", "red", 0.5),
        ("sheepskin", "leather", 0.5),  # hypernym
        ("woollen", "wool", 0.5),  # synonym
        ("azure", "blue", 0.5),
    ],
)
def test_wordnet_relates_shopper_words_to_tags(relater: TagRelater, word: str, tag: Any,
                                               strength: Any) -> None:
    links = relater.relate(word)
    if tag is None:
        assert links == {}, links
    else:
        assert links.get(tag) == strength, f"{word!r} related to {links}"


def test_without_wordnet_only_exact_matches_remain() -> None:
    r = TagRelater({"red", "wool"}, use_wordnet=False)
    assert r.relate("reds") == {"red": 1.0}
    assert r.relate("scarlet") == {}


def test_product_dataclass_is_hashable_for_caching() -> None:
    p = Product("x-1", "X", "c", ("a", "b", "c", "d"), "d")
    assert hash(p)
