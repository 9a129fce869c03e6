"""The intent classifier (config.yml: `bot.intent_classifier.SentenceIntentClassifier`).

A multinomial logistic regression over each message's sentence features: the sparse word and
character-n-gram counts of the pipeline's CountVectorsFeaturizers, weighted as sublinear TF-IDF
and scaled to unit length, beside the dense sentence vectors (all-MiniLM-L6-v2's, unit length,
and the sentiment readings). On the ~1200 hand-written examples it cross-validates better than
DIET over the same features (docs/augment.md, "Measured here"): with about a hundred examples
per intent a linear model on a pretrained sentence vector overfits less than a transformer
trained from scratch. DIET stays in the pipeline for the entities only.

The fitted model is stored as plain arrays (no pickle): the IDF weights, the coefficients and
intercepts, the intent names and the feature widths they were trained on. `intent` and
`intent_ranking` are set as DIET sets them, so FallbackClassifier and the policies read them
unchanged; its confidences are the regression's class probabilities.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Tuple, Type

import numpy as np
import scipy.sparse as sp
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)
MODEL_FILE = "intent_classifier.npz"


def sublinear_tf(counts: sp.csr_matrix) -> sp.csr_matrix:
    """1 + log(count) for every non-zero count (a word said twice is not twice the evidence)."""
    out = counts.tocsr(copy=True).astype(np.float64)
    out.data = 1.0 + np.log(np.maximum(out.data, 1e-12))
    return out


def fit_idf(counts: sp.csr_matrix) -> np.ndarray:
    """Smoothed inverse document frequency of each column: ln((1 + n) / (1 + df)) + 1."""
    n = counts.shape[0]
    columns = counts.tocsc(copy=True)
    columns.eliminate_zeros()
    df = np.diff(columns.indptr)  # how many rows have each column non-zero
    return np.log((1.0 + n) / (1.0 + df)) + 1.0


def weight_rows(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear TF × IDF, each row scaled to unit length (an all-zero row stays zero)."""
    weighted = sublinear_tf(counts) @ sp.diags(idf)
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1))).ravel()
    return sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ weighted


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large scores."""
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class SentenceIntentClassifier(GraphComponent, IntentClassifier):
    """Logistic regression over TF-IDF-weighted sparse and unit dense sentence features."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Featurizer]

    @staticmethod
    def required_packages() -> List[str]:
        return ["sklearn", "scipy"]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            # inverse regularisation strength: 30 was best of 10/30/100 in 3-fold CV, and
            # leaves FallbackClassifier most of the wrong guesses (docs/augment.md)
            "C": 30.0,
            "max_iter": 3000,
            # featurizer aliases to read (None: every featurizer before this one)
            "featurizers": None,
            "ranking_length": 10,
        }

    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage,
                 resource: Resource, arrays: Optional[Dict[str, np.ndarray]] = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.arrays = arrays

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SentenceIntentClassifier:
        """A new, untrained classifier."""
        if float(config.get("C", 1.0)) <= 0:
            raise ValueError("SentenceIntentClassifier: C must be positive")
        return cls(config, model_storage, resource)

    def _features(self, messages: List[Message]) -> Tuple[sp.csr_matrix, np.ndarray]:
        """The messages' sparse (counts) and dense sentence features, one row each."""
        names = self.config["featurizers"]
        sparse_rows, dense_rows = [], []
        for message in messages:
            sparse = message.get_sparse_features(TEXT, names)[1]
            dense = message.get_dense_features(TEXT, names)[1]
            sparse_rows.append(sp.csr_matrix(sparse.features) if sparse is not None
                               else None)
            dense_rows.append(np.asarray(dense.features, dtype=np.float64).ravel()
                              if dense is not None else None)
        return self._stack(sparse_rows), self._stack_dense(dense_rows)

    @staticmethod
    def _stack(rows: List[Optional[sp.csr_matrix]]) -> sp.csr_matrix:
        width = max((r.shape[1] for r in rows if r is not None), default=0)
        return sp.vstack([r if r is not None else sp.csr_matrix((1, width)) for r in rows]
                         ).tocsr() if rows else sp.csr_matrix((0, 0))

    @staticmethod
    def _stack_dense(rows: List[Optional[np.ndarray]]) -> np.ndarray:
        width = max((len(r) for r in rows if r is not None), default=0)
        return np.vstack([r if r is not None else np.zeros(width) for r in rows]) \
            if rows else np.zeros((0, 0))

    def _design(self, sparse: sp.csr_matrix, dense: np.ndarray) -> sp.csr_matrix:
        assert self.arrays is not None
        return sp.hstack([weight_rows(sparse, self.arrays["idf"]), sp.csr_matrix(dense)]
                         ).tocsr()

    def train(self, training_data: TrainingData) -> Resource:
        """Fit the IDF weights and the regression on the intent examples that have text."""
        from sklearn.linear_model import LogisticRegression

        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            logger.debug("intent_classifier_skipped reason=no_intent_examples")
            return self._resource
        sparse, dense = self._features(examples)
        labels = [e.get(INTENT) for e in examples]
        if len(set(labels)) < 2:
            raise ValueError("SentenceIntentClassifier needs examples of at least two intents")
        self.arrays = {"idf": fit_idf(sparse)}
        clf = LogisticRegression(C=float(self.config["C"]), max_iter=int(self.config["max_iter"]),
                                 class_weight="balanced", multi_class="multinomial",
                                 random_state=0)
        clf.fit(self._design(sparse, dense), labels)
        self.arrays.update(coef=clf.coef_, intercept=clf.intercept_,
                           classes=np.array(clf.classes_, dtype=str),
                           widths=np.array([sparse.shape[1], dense.shape[1]]))
        with self._model_storage.write_to(self._resource) as folder:
            np.savez(folder / MODEL_FILE, **self.arrays)
        return self._resource

    @classmethod
    def load(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> SentenceIntentClassifier:
        """The trained arrays (an untrained classifier when training stored none)."""
        try:
            with model_storage.read_from(resource) as folder, \
                    np.load(folder / MODEL_FILE, allow_pickle=False) as stored:
                arrays = {k: stored[k] for k in stored.files}
        except (ValueError, FileNotFoundError):
            logger.debug("intent_classifier_untrained resource=%s", resource.name)
            arrays = None
        return cls(config, model_storage, resource, arrays)

    def predict_proba(self, messages: List[Message]) -> np.ndarray:
        """Class probabilities (rows: messages, columns: `classes`)."""
        assert self.arrays is not None
        sparse, dense = self._features(messages)
        want_sparse, want_dense = (int(w) for w in self.arrays["widths"])
        if sparse.shape[1] == 0:
            sparse = sp.csr_matrix((len(messages), want_sparse))
        if dense.shape[1] == 0:
            dense = np.zeros((len(messages), want_dense))
        if (sparse.shape[1], dense.shape[1]) != (want_sparse, want_dense):
            raise ValueError(
                f"SentenceIntentClassifier was trained on {want_sparse} sparse and {want_dense} "
                f"dense features but got {sparse.shape[1]} and {dense.shape[1]}: the pipeline "
                "before it changed; retrain (make train)")
        scores = self._design(sparse, dense) @ self.arrays["coef"].T + self.arrays["intercept"]
        return softmax(np.asarray(scores))

    def process(self, messages: List[Message]) -> List[Message]:
        """Set `intent` and `intent_ranking` on each message with text."""
        todo = [m for m in messages if m.get(TEXT)]
        if self.arrays is None or not todo:
            for message in todo:
                message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
            return messages
        probabilities = self.predict_proba(todo)
        classes = [str(c) for c in self.arrays["classes"]]
        length = int(self.config["ranking_length"])
        for message, row in zip(todo, probabilities, strict=True):
            order = np.argsort(-row)
            ranking = [{"name": classes[i], "confidence": float(row[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking[:length] if length > 0 else ranking,
                        add_to_output=True)
        return messages
