"""Ask before escalating: when the engine is unsure between a few KB entries it offers them as choices ("Did you
mean: …", plus "talk to a person"), and reads the sender's pick on the next message. Pure functions only; the
policy decides when to call them.

The rule (`ClarificationRule`, from `PolicyConfig`): among the candidate entries (the prediction's alternatives
that are published KB entries), those at or above `min_probability` are kept, at most `max_choices` of them, best
first; they are offered when there are at least two and together they reach `min_total`. A KB entry has no title,
so an option's label is its first question phrasing in the sender's language, else in the default language, else
in any language, else its id made readable.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from assistant.domain.kb_entries import KBEntry, KnowledgeBase
from assistant.domain.messages import CHOICE_PREFIX, HUMAN_CHOICE, Choice, PickMethod
from assistant.settings import PolicyConfig


@dataclass(frozen=True)
class ClarificationRule:
    max_choices: int = 3
    min_probability: float = 0.1
    min_total: float = 0.5

    @classmethod
    def from_config(cls, config: PolicyConfig) -> ClarificationRule:
        return cls(config.max_choices, config.choice_min_probability, config.choices_min_probability)


@dataclass(frozen=True)
class Candidate:
    """A KB entry the message may be about, with the matcher's probability for it."""

    entry_id: str
    probability: float


@dataclass(frozen=True)
class Pick:
    """The offered choice the sender picked: its position in the list (1-based) and how it was picked."""

    choice: Choice
    number: int
    method: PickMethod


def entry_candidates(alternatives: Iterable[tuple[str, float]], faq_prefix: str) -> list[Candidate]:
    """The FAQ entries among a prediction's ranked (label, probability) alternatives, in order."""
    return [
        Candidate(label.removeprefix(faq_prefix), probability)
        for label, probability in alternatives
        if label.startswith(faq_prefix)
    ]


def options_to_offer(candidates: Sequence[Candidate], kb: KnowledgeBase, rule: ClarificationRule) -> list[Candidate]:
    """The entries to offer as choices under `rule`, best first; empty when the rule does not hold."""
    kept: list[Candidate] = []
    for candidate in sorted(candidates, key=lambda c: -c.probability):
        entry = kb.get(candidate.entry_id)
        if entry is None or not entry.is_published or candidate.probability < rule.min_probability:
            continue
        if all(candidate.entry_id != seen.entry_id for seen in kept):
            kept.append(candidate)
        if len(kept) == rule.max_choices:
            break
    if len(kept) < 2 or sum(c.probability for c in kept) < rule.min_total:
        return []
    return kept


def choice_label(entry: KBEntry, language: str, default_language: str) -> str:
    """A short title for the entry in the sender's language (see the module docstring for the fallbacks)."""
    for lang in (language, default_language, *sorted(entry.questions)):
        phrasings = [q for q in entry.questions.get(lang, []) if q.strip()]
        if phrasings:
            return " ".join(phrasings[0].split())
    return entry.id.replace("-", " ").replace("_", " ").capitalize()


def build_choices(entries: Sequence[KBEntry], language: str, default_language: str, human_label: str) -> list[Choice]:
    """The offered options: one per entry, then "talk to a person" last."""
    choices = [Choice(choice_label(e, language, default_language), CHOICE_PREFIX + e.id) for e in entries]
    return [*choices, Choice(human_label, HUMAN_CHOICE)]


def numbered(choices: Sequence[Choice]) -> str:
    """The options as a numbered list, so platforms without buttons offer them too and "2" can be typed."""
    return "\n".join(f"{number}. {choice.label}" for number, choice in enumerate(choices, 1))


# Words that carry no choice ("the second one please", "option 2", "le deuxième", "вариант 2", "opcja 2"); "one" and
# "un" are among them, so a bare "one" is not read as a pick.
_FILLERS = frozenset(
    str.split(
        "the one option number no nr please pls i take want choose pick id like d "
        "le la l un une numéro numero choix je prends veux svp s il vous plait plaît "
        "вариант номер пожалуйста выбираю хочу давайте "
        "opcja opcję numer proszę poproszę wybieram chcę ten ta to"
    )
)
_ORDINALS: dict[str, int] = {}
for _number, _words in {
    1: "1st first premier première premiere 1er 1re первый первая первое первую один pierwszy pierwsza "
    "pierwsze pierwszą jeden jedynka",
    2: "2nd second two deuxième deuxieme seconde 2e 2eme 2ème deux второй вторая второе вторую два drugi druga "
    "drugie drugą dwa dwójka",
    3: "3rd third three troisième troisieme 3e 3eme 3ème trois третий третья третье третью три trzeci trzecia "
    "trzecie trzecią trzy trójka",
    4: "4th fourth four quatrième quatrieme 4e 4eme 4ème quatre четвёртый четвертый четвёртая четвертая четыре "
    "czwarty czwarta czwarte czwartą cztery czwórka",
    5: "5th fifth five cinquième cinquieme 5e 5eme 5ème cinq пятый пятая пятое пять piąty piąta piąte piątą pięć "
    "piątka",
}.items():
    for _word in _words.split():
        _ORDINALS[_word] = _number
_HAN_NUMBERS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_HAN_PICK = re.compile(r"^(?:我)?(?:选|要)?(?:择)?第?([一二两三四五六七八九]|\d+)(?:个|项|号|种|条)?(?:吧|呢|啊)?$")
_WORD = re.compile(r"\w+", re.UNICODE)


def _plain(text: str) -> str:
    """Case-folded, NFKC, punctuation and symbols dropped, spaces collapsed: the form labels are compared in."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(ch if unicodedata.category(ch)[0] in ("L", "N", "M") else " " for ch in folded)
    return " ".join(kept.split())


def typed_number(text: str) -> int | None:
    """The option number a typed reply names ("2", "2.", "#2", "the second", "le deuxième", "второй", "第二个"), or
    None when it says anything else."""
    plain = _plain(text)
    if not plain:
        return None
    han = _HAN_PICK.match(plain.replace(" ", ""))
    if han:
        token = han.group(1)
        return int(token) if token.isdigit() else _HAN_NUMBERS[token]
    words = [w for w in _WORD.findall(plain) if w not in _FILLERS]
    if len(words) != 1:
        return None
    word = words[0]
    if word.isdigit():
        return int(word)
    return _ORDINALS.get(word)


def resolve_pick(text: str, payload: str | None, offered: Sequence[Choice]) -> Pick | None:
    """The offered choice this message picks, or None (then it is decided as a new message): a tapped payload
    among the offered ones, a typed number or ordinal within the list, or text equal to one option's label."""
    if not offered:
        return None
    if payload is not None:
        tapped = [Pick(c, n, PickMethod.PAYLOAD) for n, c in enumerate(offered, 1) if c.payload == payload]
        return tapped[0] if tapped else None
    typed = typed_number(text)
    if typed is not None:
        return Pick(offered[typed - 1], typed, PickMethod.NUMBER) if 1 <= typed <= len(offered) else None
    wanted = _plain(text)
    matches = [(n, c) for n, c in enumerate(offered, 1) if wanted and _plain(c.label) == wanted]
    if len(matches) == 1:
        number, choice = matches[0]
        return Pick(choice, number, PickMethod.LABEL)
    return None
