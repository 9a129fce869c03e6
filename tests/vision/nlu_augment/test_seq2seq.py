"""The T5 path: a tiny T5 and tokenizer built, trained and saved here (nothing downloaded),
loaded from its folder by the generator, batched, and run through the pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu_augment.annotation import parse_annotated
from nlu_augment.generators.base import Source
from nlu_augment.generators.seq2seq import Seq2SeqParaphraser, Seq2SeqSettings
from nlu_augment.nlu_yaml import NluData
from nlu_augment.pipeline import AugmentConfig, Augmenter

PAIRS = [
    ("show me red sneakers", "could you show me the red sneakers"),
    ("i want suede boots", "do you have any suede boots"),
    ("do you have leather bags", "i am looking for leather bags"),
    ("hello there", "hi there, hello"),
]


@pytest.fixture(scope="module")
def tiny_t5(tmp_path_factory) -> Path:
    """A 2-layer T5 with a unigram tokenizer, trained a few seconds to paraphrase PAIRS."""
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    folder = tmp_path_factory.mktemp("tiny-t5")
    corpus = [f"paraphrase: {a}" for a, _ in PAIRS] + [b for _, b in PAIRS]
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(corpus * 4, trainers.UnigramTrainer(
        vocab_size=120, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>"))
    tok.post_processor = TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(T5Config(
        vocab_size=len(tokenizer), d_model=64, d_ff=128, num_layers=2, num_heads=4, d_kv=16,
        decoder_start_token_id=0, pad_token_id=0, eos_token_id=1))
    batch = tokenizer([f"paraphrase: {a}" for a, _ in PAIRS], return_tensors="pt", padding=True)
    labels = tokenizer([b for _, b in PAIRS], return_tensors="pt", padding=True).input_ids
    labels[labels == 0] = -100
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(300):
        loss = model(**batch, labels=labels).loss
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert loss.item() < 0.2, f"the tiny T5 did not learn its pairs (loss {loss.item():.3f})"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_generator_loads_from_a_folder_and_samples_in_batches(tiny_t5: Path) -> None:
    gen = Seq2SeqParaphraser(str(tiny_t5), Seq2SeqSettings(num_return_sequences=4, batch_size=3))
    sources = [Source("x", parse_annotated(a), i) for i, (a, _) in enumerate(PAIRS)]
    out = gen.generate(sources)
    assert len(out) == len(PAIRS)  # one list per source across two batches
    texts = [c.text for cands in out for c in cands]
    assert all(c.kind == "t5" for cands in out for c in cands)
    # sampling from a trained model gives back its learnt paraphrases most of the time
    assert sum(b in texts for _, b in PAIRS) >= 3, texts
    again = Seq2SeqParaphraser(str(tiny_t5), gen.settings).generate(sources)
    assert [[c.text for c in cands] for cands in again] == [[c.text for c in cs] for cs in out]


def test_t5_paraphrases_are_reannotated_through_the_pipeline(tiny_t5: Path, embedder) -> None:
    data = NluData(intents={
        "search": [parse_annotated("show me [red](attribute) [sneakers](product_category)"),
                   parse_annotated("i want [suede](attribute) [boots](product_category)"),
                   parse_annotated("do you have [leather](attribute) [bags](product_category)")],
        "greet": [parse_annotated("hello there")],
    })
    gen = Seq2SeqParaphraser(str(tiny_t5), Seq2SeqSettings(num_return_sequences=6))
    config = AugmentConfig(progress=False, swaps_per_example=0, noise_per_example=0,
                           adequacy=0.5)
    result = Augmenter([gen], embedder, config).run(data)
    rendered = [ex.render() for ex in result.examples["search"]]
    assert "could you show me the [red](attribute) [sneakers](product_category)" in rendered
    assert "do you have any [suede](attribute) [boots](product_category)" in rendered


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="nothing is downloaded"):
        Seq2SeqParaphraser(str(tmp_path / "no-such-model"))
