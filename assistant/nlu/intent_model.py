"""The answer classifier: every published FAQ entry and every conversational intent of `training/nlu.yml`
is a class; its confidence is calibrated on held-out data and its threshold meets a target precision."""

from __future__ import annotations

import hashlib
import json
import pickle
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from assistant.domain.kb_entries import KnowledgeBase
from assistant.domain.readings import FAQ_PREFIX, INTENT_PREFIX, IntentPrediction
from assistant.errors import NotReady
from assistant.nlu.calibration import (
    OutOfFold,
    ThresholdChoice,
    choose_threshold,
    out_of_fold,
    out_of_scope_weights,
)
from assistant.nlu.classifier import (
    FEATURES_VERSION,
    ConfidenceCalibrator,
    EmbeddingClassifier,
    NeighbourClassifier,
    RankingClassifier,
    confidence_features,
)
from assistant.nlu.embeddings import Encoder
from assistant.nlu.language_balance import calibration_only
from assistant.nlu.model_files import load_model
from assistant.nlu.nlu_data import NluExample
from assistant.settings import PolicyConfig

MODEL_FILE = "intent_model.pkl"
REPORT_FILE = "intent_model.json"


LOGISTIC = "logistic"
NEIGHBOURS = "neighbours"
# The share of traffic with no answer in the KB that the threshold is calibrated for: its one home is the setting.
DEFAULT_OUT_OF_SCOPE_SHARE: float = PolicyConfig.model_fields["out_of_scope_share"].default
# One-sided 90% Wilson bound: the "how sure" of `assistant train`, and the safe side when the estimate is thin.
CONFIDENCE_Z = 1.2816
# The estimate is called reliable when its lower bound is within this of the target precision.
RELIABLE_WITHIN = 0.03


def matcher_for(kind: str, classes: int, neighbours_from: int) -> str:
    """The matcher to train: "auto" picks logistic regression for small label sets (more accurate) and nearest
    neighbours from `neighbours_from` classes on (its training is adding vectors, so large KBs publish in seconds)."""
    if kind == "auto":
        return NEIGHBOURS if classes >= neighbours_from else LOGISTIC
    if kind not in (LOGISTIC, NEIGHBOURS):
        raise ValueError(f"unknown matcher {kind!r}: use auto, {LOGISTIC} or {NEIGHBOURS}")
    return kind


def new_classifier(matcher: str) -> RankingClassifier:
    return NeighbourClassifier() if matcher == NEIGHBOURS else EmbeddingClassifier()


class ModelMismatchError(NotReady, RuntimeError):
    """The saved model was trained for another KB or embedding model; retrain with `assistant train`."""


@dataclass
class TrainingReport:
    model: str
    kb_version: str
    classes: int
    examples: int
    target_precision: float
    threshold: float
    oof_precision: float
    oof_coverage: float
    held_out_escalated: float
    in_scope_accuracy: float
    out_of_scope_similarity: float
    seconds: float
    warnings: list[str] = field(default_factory=list)
    matcher: str = LOGISTIC
    # Examples the calibration was fitted on; a neighbours model takes new examples without recalibrating
    # until they differ from these by `models.recalibrate_share`.
    calibrated_examples: int = 0
    features_version: int = FEATURES_VERSION
    # The calibration's assumption and how sure it is (see IntentModel.train_on_vectors).
    out_of_scope_share: float = DEFAULT_OUT_OF_SCOPE_SHARE
    precision_lower_bound: float = 0.0
    calibration_reliable: bool = True
    calibration_rows: int = 0
    out_of_scope_rows: int = 0
    cross_lingual_rows: int = 0
    # KB answers' own threshold, chosen on the predictions that name a KB entry (see train_on_vectors).
    kb_threshold: float = 0.0
    kb_answer_rows: int = 0


@dataclass(frozen=True)
class TrainingSet:
    texts: list[str]
    labels: list[str]
    languages: list[str]
    conflicts: list[str]


def training_set(kb: KnowledgeBase, nlu: list[NluExample]) -> TrainingSet:
    """Texts, labels and languages; a text claimed by two classes is kept once, for the first, and reported."""
    texts: list[str] = []
    labels: list[str] = []
    languages: list[str] = []
    seen: dict[str, str] = {}
    conflicts: list[str] = []
    triples = [(q, FAQ_PREFIX + e.id, lang) for e in kb.published() for lang, qs in e.questions.items() for q in qs]
    triples += [(ex.text, INTENT_PREFIX + ex.intent, ex.lang or "") for ex in nlu]
    for text, label, lang in triples:
        key = text.strip().casefold()
        if key in seen:
            if seen[key] != label:
                conflicts.append(f"{text!r} is an example of both {seen[key]} and {label}")
            continue
        seen[key] = label
        texts.append(text)
        labels.append(label)
        languages.append(lang)
    return TrainingSet(texts, labels, languages, conflicts)


def training_examples(kb: KnowledgeBase, nlu: list[NluExample]) -> tuple[list[str], list[str], list[str]]:
    """Texts, labels and conflicts of `training_set`, for callers that need no languages."""
    found = training_set(kb, nlu)
    return found.texts, found.labels, found.conflicts


def nlu_checksum(nlu: list[NluExample]) -> str:
    return hashlib.sha256("\n".join(f"{e.intent}\t{e.lang}\t{e.text}" for e in nlu).encode()).hexdigest()[:16]


class IntentModel:
    def __init__(
        self,
        classifier: RankingClassifier,
        calibrator: ConfidenceCalibrator,
        threshold: float,
        out_of_scope_similarity: float,
        report: TrainingReport,
        kb_threshold: float | None = None,
    ) -> None:
        self.classifier = classifier
        self.calibrator = calibrator
        self.threshold = threshold
        # KB answers' own threshold (see train_on_vectors); None (a model built by hand): the one threshold.
        self.kb_threshold = threshold if kb_threshold is None else kb_threshold
        self.out_of_scope_similarity = out_of_scope_similarity
        self.report = report

    @classmethod
    def train(
        cls,
        kb: KnowledgeBase,
        nlu: list[NluExample],
        encoder: Encoder,
        target_precision: float,
        folds: int = 5,
        holdout_share: float = 0.2,
        seed: int = 13,
        show_progress: bool = False,
        matcher: str = LOGISTIC,
        calibration_rows: int | None = None,
        out_of_scope_share: float = DEFAULT_OUT_OF_SCOPE_SHARE,
    ) -> tuple[IntentModel, OutOfFold]:
        started = time.perf_counter()
        found = training_set(kb, nlu)
        vectors = encoder.encode(found.texts, show_progress_bar=show_progress)
        model, oof = cls.train_on_vectors(
            vectors,
            found.labels,
            encoder.name,
            kb.version,
            target_precision,
            folds,
            holdout_share,
            seed,
            matcher,
            calibration_rows,
            languages=found.languages,
            out_of_scope_share=out_of_scope_share,
        )
        model.report.warnings.extend(found.conflicts)
        model.report.seconds = time.perf_counter() - started
        return model, oof

    @classmethod
    def train_on_vectors(
        cls,
        vectors: np.ndarray,
        labels: list[str],
        model_name: str,
        kb_version: str,
        target_precision: float,
        folds: int = 5,
        holdout_share: float = 0.2,
        seed: int = 13,
        matcher: str = LOGISTIC,
        calibration_rows: int | None = None,
        languages: list[str] | None = None,
        out_of_scope_share: float = DEFAULT_OUT_OF_SCOPE_SHARE,
    ) -> tuple[IntentModel, OutOfFold]:
        """Fit the matcher and calibrate its confidence out of fold.

        With `languages`, intent examples in languages the KB barely has are kept out of the matcher and used as
        cross-lingual calibration rows (assistant/nlu/language_balance.py). Out-of-scope rows (of classes held out of a
        fold) are weighted to `out_of_scope_share` of the evidence. The threshold (templates and intents) is the
        lowest whose weighted precision reaches the target; the KB-answer threshold is chosen the same way on the
        rows that name a KB entry, and on the 90% lower bound instead when that bound falls more than
        RELIABLE_WITHIN short of the target (too little evidence)."""
        extra = (
            calibration_only(labels, languages, INTENT_PREFIX)
            if languages is not None
            else np.zeros(len(labels), dtype=bool)
        )
        train_rows = np.flatnonzero(~extra)
        train_labels = [labels[i] for i in train_rows]
        train_vectors = vectors[train_rows]
        oof = out_of_fold(
            train_vectors,
            train_labels,
            lambda: new_classifier(matcher),
            folds,
            holdout_share,
            seed,
            max_rows=calibration_rows,
            extra_vectors=vectors[extra] if extra.any() else None,
            extra_labels=[labels[i] for i in np.flatnonzero(extra)] if extra.any() else None,
        )
        weights = out_of_scope_weights(oof.held_out, out_of_scope_share)
        calibrator = ConfidenceCalibrator().fit(oof.features, oof.correct, weights)
        confidence = calibrator.confidence(oof.features)
        choice: ThresholdChoice = choose_threshold(confidence, oof.correct, target_precision, weights=weights)
        # KB answers get their own threshold, chosen on the held-out predictions that name a KB entry: the target
        # precision is a promise about KB answers, and with the shipped intents in training a three-entry KB would
        # otherwise borrow the intents' evidence. Where that evidence is thin (its 90% lower bound more than
        # RELIABLE_WITHIN short of the target), the threshold is chosen on the lower bound instead: the safe side.
        kb_rows = np.array([p.startswith(FAQ_PREFIX) for p in oof.predicted], dtype=bool)
        if not any(label.startswith(FAQ_PREFIX) for label in train_labels):
            kb_rows = np.ones(len(kb_rows), dtype=bool)  # a matcher without KB entries: all its answers count
        kb_conf, kb_correct, kb_weights = confidence[kb_rows], oof.correct[kb_rows], weights[kb_rows]
        kb_choice = choose_threshold(kb_conf, kb_correct, target_precision, weights=kb_weights)
        reliable = kb_choice.lower_bound(CONFIDENCE_Z) >= target_precision - RELIABLE_WITHIN
        if not reliable:
            kb_choice = choose_threshold(kb_conf, kb_correct, target_precision, weights=kb_weights, z=CONFIDENCE_Z)
        bound = kb_choice.lower_bound(CONFIDENCE_Z)
        kb_threshold = kb_choice.threshold
        in_scope = ~oof.held_out
        correct_in_scope = oof.correct & in_scope
        # Below this similarity to any known phrasing almost nothing answered correctly: call it out of scope.
        oos_similarity = float(np.quantile(oof.features[correct_in_scope, 2], 0.02)) if correct_in_scope.any() else 0.0
        classifier = new_classifier(matcher).fit(train_vectors, train_labels)
        report = TrainingReport(
            model=model_name,
            kb_version=kb_version,
            classes=len(classifier.classes),
            examples=len(train_labels),
            target_precision=target_precision,
            threshold=choice.threshold,
            oof_precision=choice.precision,
            oof_coverage=choice.coverage,
            held_out_escalated=float((confidence[oof.held_out] < choice.threshold).mean())
            if oof.held_out.any()
            else 1.0,
            in_scope_accuracy=float(oof.correct[in_scope].mean()) if in_scope.any() else 0.0,
            out_of_scope_similarity=oos_similarity,
            seconds=0.0,
            matcher=matcher,
            calibrated_examples=len(train_labels),
            out_of_scope_share=out_of_scope_share,
            precision_lower_bound=bound,
            calibration_reliable=reliable,
            kb_threshold=kb_threshold,
            kb_answer_rows=int(kb_rows.sum()),
            calibration_rows=len(oof.correct),
            out_of_scope_rows=int(oof.held_out.sum()),
            cross_lingual_rows=int(oof.calibration_only.sum()),
        )
        if not reliable:
            report.warnings.append(
                f"too little evidence to calibrate KB answers reliably ({int(kb_rows.sum())} held-out predictions of "
                f"a KB entry): KB answers need confidence {min(kb_threshold, 1.0):.2f}"
                f"{' (none are given)' if kb_threshold > 1.0 else ''}, where the 90% lower bound of their precision "
                f"reaches {target_precision:.0%}; more phrasings per entry help"
            )
        return cls(classifier, calibrator, choice.threshold, oos_similarity, report, kb_threshold), oof

    @property
    def takes_examples_without_training(self) -> bool:
        return self.report.matcher == NEIGHBOURS

    def with_examples(self, vectors: np.ndarray, labels: list[str], kb_version: str) -> IntentModel:
        """The same calibration over a new set of examples: for a neighbours matcher, whose scores do not depend
        on how many classes there are, this is a publish in milliseconds instead of a retraining."""
        current = self.classifier
        if not self.takes_examples_without_training or not isinstance(current, NeighbourClassifier):
            raise ValueError("only a neighbours matcher takes new examples without training")
        classifier = NeighbourClassifier(k=current.k, temperature=current.temperature).fit(vectors, labels)
        report = TrainingReport(**{**asdict(self.report), "kb_version": kb_version, "examples": len(labels)})
        report.classes = len(classifier.classes)
        return IntentModel(
            classifier, self.calibrator, self.threshold, self.out_of_scope_similarity, report, self.kb_threshold
        )

    def calibration_drift(self, examples: int) -> float:
        """How far the example count moved from what the calibration saw, as a share of it."""
        base = max(1, self.report.calibrated_examples)
        return abs(examples - base) / base

    def predict(self, vectors: np.ndarray, top: int = 3) -> list[IntentPrediction]:
        if len(vectors) == 0:
            return []
        ranking = self.classifier.rank(vectors, top=top)
        features = confidence_features(ranking)
        confidence = self.calibrator.confidence(features)
        classes = self.classifier.classes
        predictions = []
        for ids, probs, feats, conf in zip(ranking.class_ids, ranking.probs, features, confidence, strict=True):
            predictions.append(
                IntentPrediction(
                    label=classes[int(ids[0])],
                    confidence=float(conf),
                    probability=float(feats[0]),
                    similarity=float(feats[2]),
                    # A neighbours ranking may hold fewer classes than `top`: its padding has probability 0.
                    alternatives=[
                        (classes[int(i)], float(p))
                        for n, (i, p) in enumerate(zip(ids, probs, strict=True))
                        if n == 0 or p > 0
                    ],
                )
            )
        return predictions

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{MODEL_FILE}.tmp"
        with tmp.open("wb") as handle:
            # Protocol 5 streams a neighbours matcher's vectors (100 MB at 10,000 entries) without a copy in memory.
            pickle.dump(self, handle, protocol=5)
        tmp.replace(directory / MODEL_FILE)
        (directory / REPORT_FILE).write_text(json.dumps(asdict(self.report), indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, directory: Path, expected_model: str, expected_kb_version: str) -> IntentModel:
        path = directory / MODEL_FILE
        if not path.exists():
            raise ModelMismatchError(f"no trained model in {directory}; run `assistant train`")
        model = load_model(path.read_bytes())
        if not isinstance(model, cls):
            raise ModelMismatchError(f"{path} does not hold an intent model; run `assistant train`")
        # vars(): a report pickled before the field existed lacks it, and the dataclass default would hide that.
        if vars(model.report).get("features_version", 1) != FEATURES_VERSION:
            raise ModelMismatchError(f"{path} was calibrated on older confidence features; run `assistant train`")
        if model.report.model != expected_model:
            raise ModelMismatchError(
                f"{path} was trained on embeddings of {model.report.model!r}; run `assistant train`"
            )
        if model.report.kb_version != expected_kb_version:
            raise ModelMismatchError(
                f"{path} is stale: trained for KB version {model.report.kb_version}, the KB is now "
                f"{expected_kb_version}; run `assistant train`"
            )
        return model
