"""Offline generators: rewrites, WordNet synonyms, noise, entity-value swaps."""

from __future__ import annotations

import random

from nlu_augment.annotation import parse_annotated, relocate_entities
from nlu_augment.generators import rewrites
from nlu_augment.generators.base import Source, mask_entities, unmask
from nlu_augment.generators.entity_swap import EntityValuePool
from nlu_augment.generators.noise import casing, typo
from nlu_augment.generators.offline import OfflineGenerator
from nlu_augment.generators.wordnet_synonyms import WordNetSynonyms


def rng() -> random.Random:
    return random.Random(7)


def test_frames_turn_requests_into_questions_and_back() -> None:
    out = rewrites.frames("i want red boots", rng(), limit=50)
    assert "do you have red boots?" in out and "i'm looking for red boots" in out
    assert "i want red boots" not in out
    back = rewrites.frames("Do you have red boots?", rng(), limit=50)
    assert "I want red boots" in back  # the source's capital is kept, the '?' dropped
    assert rewrites.frames("hello there", rng()) == []  # no frame, no rewrite


def test_politeness_only_for_requests_and_imperatives() -> None:
    assert rewrites.politeness("good morning", rng()) == []
    polite = rewrites.politeness("show me red boots", rng(), limit=10)
    assert "could you please show me red boots?" in polite
    assert "show me red boots please" in polite


def test_contractions_both_ways() -> None:
    assert rewrites.contractions("i am not happy, i do not like it", rng()) == [
        "i'm not happy, i don't like it"
    ]
    assert rewrites.contractions("I don't like it", rng()) == ["I do not like it"]


def test_masked_entities_survive_every_rewrite() -> None:
    ex = parse_annotated("I'm looking for a [cheap](attribute) [jacket](product_category)")
    masked, surfaces = mask_entities(ex)
    assert "cheap" not in masked and "jacket" not in masked
    for text in rewrites.frames(masked, rng(), 20) + rewrites.hedges(masked, rng(), 5):
        back = relocate_entities(ex, unmask(text, surfaces))
        assert back is not None, text


def test_wordnet_synonyms_follow_the_verb_sense_not_the_noun() -> None:
    wn = WordNetSynonyms()
    assert wn.lemmas("want", "v") == ["desire"]  # verb sense, not "privation"
    assert "purchase" in wn.lemmas("buy", None)
    assert wn.lemmas("delivery", "a?n") == []  # nouns are left alone
    assert wn.lemmas("fell", "v") == []  # also the past of "fall": ambiguous form


def test_wordnet_substitution_changes_one_word_outside_entities() -> None:
    ex = parse_annotated("i want to buy [cheap](attribute) [boots](product_category)")
    masked, surfaces = mask_entities(ex)
    out = WordNetSynonyms().substitutions(masked, rng(), limit=5)
    assert out, "expected at least one synonym (buy -> purchase)"
    for text in out:
        restored = unmask(text, surfaces)
        assert relocate_entities(ex, restored) is not None
        changed = [a for a, b in zip(masked.split(), text.split(), strict=False) if a != b]
        assert len(changed) == 1, text


def test_verbs_with_a_person_as_object_are_left_alone() -> None:
    """First senses misread these: "show me" would become "demonstrate me", "tell me" "state
    me". The same verb without a person after it is still replaced."""
    wn = WordNetSynonyms()
    for text in ("show me wool hats", "tell me more about this one", "Show us something nice"):
        out = wn.substitutions(text, rng(), limit=10)
        verb = text.split()[0]
        assert all(o.split()[0] == verb for o in out), out
    assert wn.lemmas("show", "v"), "show has verb synonyms: the skip, not WordNet, prevents them"


def test_offline_kinds_can_be_switched_off() -> None:
    src = Source("search", parse_annotated("i want [red](attribute) boots"), 1)
    only_frames = OfflineGenerator(["frames"]).generate([src])[0]
    assert only_frames and {c.kind for c in only_frames} == {"frames"}
    assert OfflineGenerator(["contractions"]).generate([src])[0] == []


def test_typos_and_casing_never_touch_entities() -> None:
    ex = parse_annotated("please find [Leather](attribute) boots for walking")
    masked, surfaces = mask_entities(ex)
    r = rng()
    for _ in range(30):
        for text in (typo(masked, r), casing(masked, r)):
            if text is not None:
                assert relocate_entities(ex, unmask(text, surfaces)) is not None


def test_entity_swaps_use_lookup_and_synonym_values(nlu_data) -> None:
    pool = EntityValuePool.from_data(nlu_data)
    surfaces = dict(pool.values["product_category"])
    assert "dresses" in surfaces  # only in the lookup table
    assert surfaces["trainers"] == "sneakers"  # synonym variant maps to its value
    src = parse_annotated(
        'compare the [black]{"entity": "attribute", "role": "first"} and the '
        '[brown]{"entity": "attribute", "role": "second"} [boots](product_category)'
    )
    swapped = pool.swaps(src, rng(), 5)
    assert len(swapped) == 5
    for ex in swapped:
        assert [(e.entity, e.role) for e in ex.entities] == [(e.entity, e.role) for e in src.entities]
        first, second, _ = ex.entities
        assert first.text != second.text
        assert ex.text != src.text
        parse_again = parse_annotated(ex.render())
        assert parse_again == ex


def test_lexicon_swaps_chat_phrases_within_their_group() -> None:
    from nlu_augment.generators import lexicon

    out = lexicon.alternatives("Thanks, that was great", rng(), limit=20)
    assert "Thank you, that was great" in out and "Thanks, that was awesome" in out
    assert all(len(lexicon.groups_of(t)) == 2 for t in out)
    # yes/no/hi groups only at the start: "no idea" is not a refusal
    assert lexicon.alternatives("I have no idea", rng(), limit=20) == []
    assert "nope, not now" in lexicon.alternatives("no, not now", rng(), limit=20)
    assert all("no cheers" not in t and "a lot" not in t
               for t in lexicon.alternatives("no thanks", rng(), limit=20))
