"""The feedback loop's actions: an official's 👍 / 👎 on an answer, every refusal noted, and the staff's
review queue (label, export as a test set, the topics the briefs don't cover)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from assistant.answering.conversation import Turn
from assistant.errors import AssistantError
from assistant.feedback import VERDICTS, FeedbackLog, testset_text
from assistant.feedback.topics import uncovered_topics
from assistant.library import Library
from assistant.models import Answer

log = logging.getLogger(__name__)

VERDICT_CHOICES = [
    ("Right", "right"),
    ("Wrong brief", "wrong_brief"),
    ("Should have refused", "should_refuse"),
    ("Should answer with vol. …", "should_answer"),
]
# The chat's feedback options: the thumbs, and under the flag icon what a 👎 most often means.
FLAGS = ("Wrong brief", "Should have refused", "Missed a brief")
QUEUE_HEADERS = ["item", "when", "kind", "question", "answer", "note", "label"]
assert [v for _, v in VERDICT_CHOICES] == list(VERDICTS)
# Gradio 6's chatbot sends a flag's click twice (its option handler calls the like action twice); the
# same press on the same answer from the same session within this window is recorded once. A person
# changing their mind (👍 then 👎) is a different press and is kept.
REPEAT_WINDOW_S = 5.0


@dataclass
class _Press:
    """One press being recorded: a repeat of it waits for `done` and says what the first said."""

    at: float
    done: threading.Event = field(default_factory=threading.Event)
    said: str = ""


class Review:
    """Feedback of one app: where it is stored and what the chat and the Evaluate tab do with it."""

    def __init__(self, library: Library, write: Callable[[str, str, str], str]) -> None:
        self.library = library
        self.log = FeedbackLog(library.settings.data_dir.resolve())
        self._write = write  # (stem, suffix, text) -> a download's path
        self._recent: dict[tuple[str, str, str], _Press] = {}  # (session, answer, thumb) -> press
        self._recent_lock = threading.Lock()

    # -- the chat ----------------------------------------------------------------------------------
    def noted_refusal(self, answer: Answer) -> None:
        """Every refused question is kept for the review queue and the uncovered-topics report."""
        try:
            self.log.refused(answer, index_hash=self.library.content_hash())
        except OSError as exc:  # the answer still reaches the user
            log.warning("could not note a refusal in %s: %s", self.log.path.name, exc)

    def rate(
        self, turns: list[Turn] | None, message: Any, liked: bool | str, note: str, session: str = ""
    ) -> str:
        """A 👍 / 👎 (or a flag) on one answer of the conversation; says what was recorded."""
        text_shown = _text_of(message)
        key = (session, text_shown, repr(liked))
        with self._recent_lock:  # only the bookkeeping: the write itself runs outside the lock
            now = time.monotonic()
            self._recent = {k: p for k, p in self._recent.items() if now - p.at < REPEAT_WINDOW_S}
            press = self._recent.get(key)
            first = press is None
            if press is None:
                press = self._recent[key] = _Press(now)
        if not first:
            press.done.wait(REPEAT_WINDOW_S)
            return press.said
        try:
            press.said = self._record(turns or [], text_shown, liked, note)
        finally:
            press.done.set()
        return press.said

    def _record(self, turns: list[Turn], text_shown: str, liked: bool | str, note: str) -> str:
        turn = _turn_of(turns, text_shown)
        if turn is None:
            return "That answer can no longer be rated (only the answers of this conversation can)."
        rating = "up" if liked is True else "down"
        flagged = liked if isinstance(liked, str) else ""
        text = "; ".join(part for part in (flagged, (note or "").strip()) if part)
        try:
            described = self.library.describe()
            self.log.rate(turn.answer, rating, text, index_hash=described["index_hash"], settings=described)
        except (OSError, AssistantError) as exc:
            return f"⚠️ Feedback could not be saved: {exc}"
        thumb = "thumbs-up" if rating == "up" else "thumbs-down"  # words: not every machine has emoji
        said = f" with the note “{text}”" if text else ""
        question = turn.question[:80]
        return f"Thank you: your {thumb}{said} on the answer to “{question}” is recorded for staff review."

    # -- the Evaluate tab ---------------------------------------------------------------------------
    def queue_rows(self) -> list[list[Any]]:
        rows = []
        for item in self.log.queue():
            e = item.entry
            kind = {"up": "👍 up", "down": "👎 down"}.get(str(e.get("rating")), "refused")
            label = item.label
            said = "" if label is None else label["verdict"].replace("_", " ")
            if label is not None and label.get("volume"):
                said += f" vol.{label['volume']}"
            cited = ", ".join(f"vol.{d}" for d in e.get("cited", [])) or "refused"
            rows.append(
                [
                    item.id,
                    str(e.get("at", ""))[:16].replace("T", " "),
                    kind,
                    e.get("question", ""),
                    cited,
                    e.get("note", ""),
                    said or "—",
                ]
            )
        return rows

    def queue_choices(self) -> list[tuple[str, str]]:
        return [(f"{row[0]} · {row[2]} · {str(row[3])[:60]}", str(row[0])) for row in self.queue_rows()]

    def save_label(self, item_id: str | None, verdict: str | None, volume: str) -> str:
        if not item_id:
            return "Pick an item of the queue first."
        if not verdict:
            return "Choose a verdict."
        try:
            self.log.label(item_id, verdict, volume or None, by="staff")
        except AssistantError as exc:
            return f"⚠️ {exc}"
        return f"Saved: item {item_id} is labelled “{verdict.replace('_', ' ')}”."

    def export(self) -> tuple[str | None, str]:
        """The reviewed items as a test set (a download), and a line saying what went in."""
        lines, skipped = self.log.export()
        if not lines:
            return None, "Nothing to export yet: label some items of the queue first."
        path = self._write("feedback-testset", "jsonl", testset_text(lines))
        note = f"; {skipped} labelled “wrong brief” without the right volume were left out" if skipped else ""
        return path, f"Exported {len(lines)} questions as a test set (run it with `assistant eval`){note}."

    def uncovered(self) -> str:
        """The refused questions grouped by topic, as Markdown."""
        refusals = [e for e in self.log.entries() if e["kind"] == "refusal"]
        topics = uncovered_topics(refusals, self.library.scorer, self.library.router)
        if not topics:
            return "No refused questions yet."
        counted = f"{_plural(len(refusals), 'refused question')} in {_plural(len(topics), 'topic')}"
        lines = [f"**{counted}** (largest first):", ""]
        for topic in topics[:20]:
            when = (
                topic.first[:10]
                if topic.first[:10] == topic.last[:10]
                else f"{topic.first[:10]} – {topic.last[:10]}"
            )
            examples = "; ".join(f"“{q[:80]}”" for q in topic.questions[:3])
            lines.append(f"- **{topic.name}** — {topic.count} × ({when}): {examples}")
        return "\n".join(lines)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _text_of(message: Any) -> str:
    """A chat message's text, whichever shape Gradio hands it over in (a string, a message, parts)."""
    if isinstance(message, list):
        return "".join(_text_of(part) for part in message)
    if isinstance(message, dict):
        if "text" in message:
            return str(message["text"])
        return _text_of(message.get("content", message.get("value", "")))
    return str(message or "")


def _turn_of(turns: list[Turn], text: str) -> Turn | None:
    """The turn whose answer is the message shown (the latest, if the same answer was given twice)."""
    from assistant.ui import render

    for turn in reversed(turns):
        if render.answer_markdown(turn.answer) == text:
            return turn
    return None
