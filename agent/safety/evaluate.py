"""Precision and recall of the safety checks on the labelled sets.

Each binary check is scored per message. Topics are micro-averaged over the three
topics (a wrong topic is a false positive and a false negative). PII is scored per
message and kind: a kind found in a message that has it is a true positive, wherever
in the message it was found. Grounding scores the detection of unsupported replies:
a reply is flagged when any of its sentences is unsupported. A precision with
nothing predicted, or a recall with nothing to find, is None.
"""

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent.safety.grounding import check_grounding
from agent.safety.injection import inspect_message
from agent.safety.labelled import GroundingCase, LabelledMessage
from agent.safety.language import detect_language
from agent.safety.pii import KINDS, find_pii
from agent.safety.topics import TOPICS, is_negative, sensitive_topic


@dataclass
class Tally:
    """True positives, false positives and false negatives of one check."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        self.tp += predicted and actual
        self.fp += predicted and not actual
        self.fn += actual and not predicted

    def summary(self) -> dict[str, Any]:
        precision = _ratio(self.tp, self.tp + self.fp)
        recall = _ratio(self.tp, self.tp + self.fn)
        f1 = None
        if precision is not None and recall is not None and precision + recall > 0:
            f1 = round(2 * precision * recall / (precision + recall), 3)
        return {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "positives": self.tp + self.fn,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


def evaluate(messages: Sequence[LabelledMessage], cases: Sequence[GroundingCase]) -> dict[str, Any]:
    """Every check's scores on the labelled messages and replies, with counts and timing."""
    tallies = {name: Tally() for name in ("injection", "abuse", "negative", "topic", "pii")}
    topics = {topic: Tally() for topic in TOPICS}
    kinds = {kind: Tally() for kind in KINDS}
    languages_right = undetected = 0
    started = time.perf_counter()
    for message in messages:
        verdict = inspect_message(message.text)
        tallies["injection"].add(verdict.injection, message.injection)
        tallies["abuse"].add(verdict.abuse, message.abuse)
        tallies["negative"].add(is_negative(message.text), message.negative)
        topic = sensitive_topic(message.text)
        _add_topic(tallies["topic"], topic, message.topic)
        for name, tally in topics.items():
            tally.add(topic == name, message.topic == name)
        found = {match.kind for match in find_pii(message.text)}
        for kind, tally in kinds.items():
            tally.add(kind in found, kind in message.pii)
            tallies["pii"].add(kind in found, kind in message.pii)
        language = detect_language(message.text)
        languages_right += language == message.language
        undetected += language is None
    checks_s = time.perf_counter() - started
    grounding, scores = Tally(), []
    for case in cases:
        result = check_grounding(case.reply, case.sources)
        grounding.add(bool(result.unsupported), not case.supported)
        scores.append(result.score)
    return {
        "messages": len(messages),
        "languages": dict(sorted(Counter(message.language for message in messages).items())),
        "grounding_cases": len(cases),
        "injection": tallies["injection"].summary(),
        "abuse": tallies["abuse"].summary(),
        "negative": tallies["negative"].summary(),
        "topic": {
            **tallies["topic"].summary(),
            "by_topic": {name: tally.summary() for name, tally in topics.items()},
        },
        "pii": {
            "overall": tallies["pii"].summary(),
            **{kind: tally.summary() for kind, tally in kinds.items()},
        },
        "language": {
            "accuracy": _ratio(languages_right, len(messages)),
            "undetected": undetected,
        },
        "grounding": {
            **grounding.summary(),
            "mean_score": _ratio(sum(scores), len(scores)),
        },
        "ms_per_message": round(1000 * checks_s / max(len(messages), 1), 3),
    }


def _add_topic(tally: Tally, predicted: str | None, actual: str | None) -> None:
    """Micro-averaged over the topics: a wrong topic counts once as each kind of error."""
    tally.tp += predicted is not None and predicted == actual
    tally.fp += predicted is not None and predicted != actual
    tally.fn += actual is not None and predicted != actual


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 3) if whole else None
