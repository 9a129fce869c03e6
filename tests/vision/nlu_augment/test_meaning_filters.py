"""Augmentation keeps meaning: each rule stops the bad rewrite it was written for."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from nlu_augment import cli, grammar
from nlu_augment.generators import rewrites
from nlu_augment.generators.offline import OfflineGenerator
from nlu_augment.pipeline import AugmentConfig, Augmenter, reject_key
from nlu_augment.review import load_rejects
from nlu_augment.sentiment import BotSentiment, bot_python, sentiment_problem

# (source, bad rewrite seen in data/nlu/augmented.yml, rule that must stop it)
BAD_REWRITES = [
    ("help me see your watches", "assist me see your watches", "bare_infinitive"),
    ("pick up my order", "choose up my order", "particle"),
    ("let's hold off", "let's hold away", "particle"),
    ("hold off for now", "hold forth for now", "particle"),
    ("have a great day", "have a amazing day", "article"),
    ("have a lovely weekend", "have a awesome weekend", "article"),
    ("i want an umbrella", "i want a umbrella", "article"),
    ("what are the details of this item", "what are the information of this item", "agreement"),
    ("show me something similar that I'd like", "i'd like anything similar that I'd like",
     "repeat"),
    ("show me red shoes", "show me red shoes if you can", "tail"),
    ("do you have red shoes?", "do you have red shoes if possible", "tail"),
]
GOOD_REWRITES = [
    ("help me see your watches", "help me find your watches"),
    ("help me with my order", "assist me with my order"),
    ("show me the details", "show me the information"),
    ("i'd like red shoes", "i'd like red shoes if possible"),
    ("show me red shoes", "show me red shoes please"),
    ("i want suede boots", "do you have suede boots?"),
    ("have a great day", "have a nice day"),
    ("i want a bag", "i want a useful bag"),
    ("it took a day", "it took an hour"),
    ("hey, what's up", "hey, how are you"),
]


@pytest.mark.parametrize(("source", "bad", "rule"), BAD_REWRITES)
def test_the_grammar_guard_rejects_the_bad_rewrite(source: str, bad: str, rule: str) -> None:
    assert grammar.problem(source, bad) == rule, f"{source!r} -> {bad!r} would be kept"


@pytest.mark.parametrize(("source", "good"), GOOD_REWRITES)
def test_the_grammar_guard_keeps_a_fine_rewrite(source: str, good: str) -> None:
    assert grammar.problem(source, good) is None


def test_politeness_glues_no_if_you_can_onto_a_command() -> None:
    for seed in range(30):
        for text in ("show me red shoes", "find me a bag", "i want suede boots"):
            for out in rewrites.politeness(text, random.Random(seed), limit=10):
                assert not out.endswith("if you can"), out
                assert grammar.problem(text, out) is None, out


def test_no_politeness_on_a_farewell_that_starts_like_a_command() -> None:
    # seen in data/nlu/augmented.yml: "take care, bye" -> "could you please take care, bye?"
    for seed in range(30):
        for text in ("take care, bye", "take care now, see ya"):
            assert rewrites.politeness(text, random.Random(seed), limit=10) == []
    assert rewrites.politeness("take a look at this bag", random.Random(0), limit=10)


def test_no_contracted_pronoun_verb_at_the_end_of_a_clause() -> None:
    # seen in data/nlu/augmented.yml: "keep it as it is" -> "keep it as it's"
    assert rewrites.contractions("keep it as it is", random.Random(0)) == []
    assert rewrites.contractions("yes i have, it is fine", random.Random(0)) == [
        "yes i have, it's fine"]
    assert rewrites.contractions("it is as it is.", random.Random(0)) == ["it's as it is."]


def test_a_complaint_does_not_become_praise() -> None:
    # the project's own rule scores "cheap" (TextBlob +0.4) and "inexpensive" (0.0) differently
    assert sentiment_problem((0.4, "positive"), (0.0, "neutral")) == "label"
    assert sentiment_problem((-0.63, "negative"), (-0.1, "negative")) == "polarity"
    assert sentiment_problem((-0.63, "negative"), (-0.5, "negative")) is None
    assert sentiment_problem((0.0, "neutral"), (0.0, "neutral")) is None


@pytest.mark.skipif(not Path(bot_python()).exists(), reason="needs the bot environment")
def test_bot_sentiment_scores_with_bot_sentiment_py() -> None:
    scorer = BotSentiment()
    (src, cand, typo) = scorer.scores(["the plastic feels cheap", "the plastic feels inexpensive",
                                       "terrble service"])
    assert sentiment_problem(src, cand) is not None, (src, cand)
    assert sentiment_problem(scorer.scores(["terrible service"])[0], typo) is not None
    assert scorer.scored == 4


class FakeSentiment:
    """Negative if the text has a negative word, else neutral; 'inexpensive' counts as none."""

    def scores(self, texts):
        return [(-0.6, "negative") if any(w in t.lower() for w in ("hate", "cheap", "bad"))
                else (0.0, "neutral") for t in texts]


def test_no_output_flips_the_sentiment_of_its_source(nlu_data, embedder) -> None:
    config = AugmentConfig(progress=False, noise_per_example=2)
    result = Augmenter([OfflineGenerator()], embedder, config, FakeSentiment()).run(nlu_data)
    assert result.flips == 0
    fake = FakeSentiment()
    for intent, examples in result.examples.items():
        for ex, (src, _) in zip(examples, result.origins[intent], strict=True):
            assert fake.scores([ex.text])[0][1] == fake.scores([src.text])[0][1], (src.text, ex.text)
    assert any(k.startswith("sentiment:") for k in result.rules) or sum(
        s.dropped["sentiment"] for s in result.stats.values()) == 0


def test_rejected_lines_are_never_written_again(nlu_data, embedder, tmp_path: Path) -> None:
    config = AugmentConfig(progress=False)
    first = Augmenter([OfflineGenerator()], embedder, config).run(nlu_data)
    victim = first.examples["search_product"][0]
    rejects = tmp_path / "augment-rejects.txt"
    rejects.write_text(f"# a comment\nsearch_product: {victim.render().upper()}\n")
    keys = load_rejects(rejects)
    assert keys == {reject_key("search_product", victim.text)}
    second = Augmenter([OfflineGenerator()], embedder, config, rejects=keys).run(nlu_data)
    texts = {e.text.casefold() for e in second.examples["search_product"]}
    assert victim.text.casefold() not in texts
    assert second.stats["search_product"].dropped["rejected"] >= 1


def test_a_malformed_rejects_line_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "r.txt"
    bad.write_text("greet: hi\njust some text\n")
    with pytest.raises(ValueError, match=r"r.txt:2"):
        load_rejects(bad)


def test_review_lists_every_output_beside_its_source_and_scores(nlu_dir: Path, tmp_path: Path,
                                                                 capsys) -> None:
    out, review = tmp_path / "augmented.yml", tmp_path / "review.md"
    assert cli.main([str(nlu_dir), "--out", str(out), "--no-progress", "--no-cache",
                     "--no-sentiment", "--review", str(review)]) == 0
    page = review.read_text()
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    n_out = sum(1 for line in out.read_text().splitlines() if line.startswith("    - "))
    assert len(rows) == n_out, "every generated example must be in the review"
    assert "## search_product" in page and "| frames |" in page
    err = capsys.readouterr().err
    assert "rejected by rule:" in err and "review:" in err
