"""The whole pipeline and the command line on the crafted data."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from nlu_augment import cli, filters
from nlu_augment.annotation import parse_annotated
from nlu_augment.generators.offline import OfflineGenerator
from nlu_augment.nlu_yaml import GENERATED_MARKER, dump_nlu, load_nlu
from nlu_augment.pipeline import AugmentConfig, Augmenter


def run(nlu_data, embedder, **kw):
    config = AugmentConfig(progress=False, **kw)
    return Augmenter([OfflineGenerator()], embedder, config).run(nlu_data)


def _labels(example, with_values: bool = True):
    return collections.Counter(
        (e.entity, e.role, e.group, e.resolved_value if with_values else None)
        for e in example.entities
    )


def test_every_output_keeps_exactly_its_sources_entities(nlu_data, embedder) -> None:
    result = run(nlu_data, embedder)
    n_out = sum(len(v) for v in result.examples.values())
    assert n_out > 2 * len(list(nlu_data.examples()))
    kinds = collections.Counter()
    for intent, examples in result.examples.items():
        assert len(result.origins[intent]) == len(examples)
        for ex, (source, kind) in zip(examples, result.origins[intent], strict=True):
            kinds[kind] += 1
            assert parse_annotated(ex.render()) == ex  # spans exact, annotation parses back
            if kind == "swap":  # other values of the same entities, same roles and groups
                assert _labels(ex, False) == _labels(source, False), ex.render()
                assert _labels(ex) != _labels(source), ex.render()
            else:  # paraphrases and noise: exactly the source's entities and values
                assert _labels(ex) == _labels(source), (source.render(), ex.render())
    assert {"swap", "noise", "frames"} <= set(kinds), kinds


def test_roles_and_groups_survive_into_the_output(nlu_data, embedder) -> None:
    result = run(nlu_data, embedder)
    compare = result.examples["compare_products"]
    roles = {e.role for ex in compare for e in ex.entities}
    groups = {e.group for ex in compare for e in ex.entities}
    assert {"first", "second"} <= roles and {"1", "2"} <= groups


def test_no_output_repeats_an_input_or_another_output(nlu_data, embedder) -> None:
    result = run(nlu_data, embedder)
    seen = {filters.exact_key(ex.text) for _, ex in nlu_data.examples()}
    owners = {filters.fold_key(ex.text): i for i, ex in nlu_data.examples()}
    for intent, examples in result.examples.items():
        for ex in examples:
            key = filters.exact_key(ex.text)
            assert key not in seen, ex.text
            seen.add(key)
            assert owners.setdefault(filters.fold_key(ex.text), intent) == intent, ex.text


def test_statistics_add_up(nlu_data, embedder) -> None:
    result = run(nlu_data, embedder, max_per_example=2, embed_budget=3)
    for intent, st in result.stats.items():
        assert st.generated == sum(st.dropped.values()) + st.kept, intent
        assert st.total == len(result.examples[intent])
    assert sum(st.dropped["budget"] for st in result.stats.values()) > 0
    assert sum(st.dropped["diversity"] for st in result.stats.values()) > 0


def test_strict_thresholds_drop_more(nlu_data, embedder) -> None:
    loose = run(nlu_data, embedder, adequacy=0.5)
    strict = run(nlu_data, embedder, adequacy=0.95)
    drops = {name: sum(st.dropped["adequacy"] for st in r.stats.values())
             for name, r in (("loose", loose), ("strict", strict))}
    assert drops["strict"] > drops["loose"]


def test_same_seed_same_output_other_seed_other_output(nlu_data, embedder) -> None:
    a = dump_nlu(run(nlu_data, embedder, seed=3).examples)
    b = dump_nlu(run(nlu_data, embedder, seed=3).examples)
    c = dump_nlu(run(nlu_data, embedder, seed=4).examples)
    assert a == b
    assert a != c


def test_cli_writes_a_marked_file_that_reads_back(nlu_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "augmented.yml"
    code = cli.main([str(nlu_dir), "--out", str(out), "--no-progress",
                     "--cache-dir", str(tmp_path / "cache")])
    assert code == 0
    text = out.read_text()
    assert text.startswith(GENERATED_MARKER)
    err = capsys.readouterr().err
    assert "TOTAL" in err and "-cross_intent" in err and "examples/s" in err
    data = load_nlu([out])
    assert set(data.intents) <= {"search_product", "compare_products", "greet", "goodbye",
                                 "complain"}
    # the second run reads every embedding from the cache and writes the same file
    assert cli.main([str(nlu_dir), "--out", str(out), "--no-progress",
                     "--cache-dir", str(tmp_path / "cache")]) == 0
    assert out.read_text() == text
    assert " 0 encoded" in capsys.readouterr().err


def test_dry_run_prints_and_writes_nothing(nlu_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "augmented.yml"
    assert cli.main([str(nlu_dir), "--out", str(out), "--dry-run", "--no-progress",
                     "--no-cache", "--offline-kinds", "frames,politeness"]) == 0
    assert not out.exists()
    printed = capsys.readouterr()
    assert printed.out.startswith(GENERATED_MARKER) and "- intent:" in printed.out
    assert "dry run" in printed.err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--generators", "bart"], "unknown generator 'bart'"),
        (["--offline-kinds", "frames,rhymes"], "unknown offline kinds ['rhymes']"),
        (["--generators", "t5"], "needs --t5-model"),
        (["--generators", "t5", "--t5-model", "/nonexistent/model"], "cannot load a seq2seq"),
    ],
)
def test_bad_options_fail_with_a_clear_message(nlu_dir, tmp_path, capsys, args, message) -> None:
    out = tmp_path / "augmented.yml"
    assert cli.main([str(nlu_dir), "--out", str(out), "--no-progress", "--no-cache", *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_broken_input_file_is_named_and_nothing_is_written(tmp_path: Path, capsys) -> None:
    (tmp_path / "bad.yml").write_text("nlu:\n- intent: greet\n  examples: |\n    hi\n")
    out = tmp_path / "augmented.yml"
    assert cli.main([str(tmp_path), "--out", str(out), "--no-progress", "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert "bad.yml" in err and "does not start with '- '" in err
    assert not out.exists()


def test_output_does_not_depend_on_python_hash_randomisation(nlu_dir: Path, tmp_path) -> None:
    import os
    import subprocess
    import sys

    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"out-{hash_seed}.yml"
        root = Path(__file__).resolve().parents[3]
        env = dict(os.environ, PYTHONHASHSEED=hash_seed, PYTHONPATH=str(root))
        proc = subprocess.run(
            [sys.executable, "-m", "nlu_augment", str(nlu_dir), "--out", str(out),
             "--no-progress", "--no-cache", "--offline-kinds", "frames,politeness,lexicon"],
            env=env, cwd=root, capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        outputs.append(out.read_text())
    assert outputs[0] == outputs[1]
