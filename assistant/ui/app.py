"""The web app: Chat, Search, Evaluate and Library tabs over one opened library.

Layout and wiring only; every action is a method of `Handlers`. The model and the index load once,
before the page is served.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.library import Library
from assistant.ui import render
from assistant.ui.handlers import Handlers, make_filter

log = logging.getLogger(__name__)

CSS = """
.chip { display:inline-block; padding:0 .45em; margin-left:.25em; border-radius:.7em; font-size:.8em;
        background:#e6f0ff; color:#1a4d8f !important; text-decoration:none !important;
        border:1px solid #b3cdf5; }
.sources .source { border-left:3px solid #3182ce; padding:.4em .8em; margin:.6em 0; background:#fafcff; }
.source-meta { color:#555; font-size:.85em; margin:.2em 0; }
.source-text mark { background:#fff3a3; }
.muted { color:#777; }
"""
EXPORT_FORMATS = ["csv", "json", "md"]


def build_app(library: Library) -> Any:
    """The Gradio Blocks app (not launched)."""
    import gradio as gr

    h = Handlers(library)
    summary_text, rows, choices = h.library_view()  # the Library tab and the brief filters
    bundled_sets = list(h.bundled_testsets())
    PROGRESS = gr.Progress()  # Gradio injects progress through this default value
    with gr.Blocks(title="KRIHS Policy Brief assistant", analytics_enabled=False) as app:
        gr.Markdown(
            "## KRIHS Policy Brief assistant\nAnswers cite the brief they come from; "
            "when the briefs don't say, the assistant says so."
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                turns = gr.State([])
                last_answer = gr.State(None)
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            label="Conversation", height=460, buttons=["copy", "copy_all"], elem_id="chat"
                        )
                        question = gr.Textbox(
                            label="Your question",
                            placeholder="e.g. What role do the US manufacturing innovation institutes play?",
                            lines=2,
                            max_length=library.settings.max_question_chars,
                            elem_id="question",
                        )
                        with gr.Row():
                            ask = gr.Button("Ask", variant="primary", elem_id="ask")
                            new_chat = gr.Button("New chat")
                            download = gr.DownloadButton("Download answer (.md)", value=None)
                        with gr.Accordion("Filters", open=False):
                            chat_volumes = gr.Dropdown(choices, multiselect=True, label="Briefs")
                            with gr.Row():
                                chat_since = gr.Textbox(label="Dated from", placeholder="YYYY or YYYY-MM-DD")
                                chat_until = gr.Textbox(label="Dated until", placeholder="YYYY or YYYY-MM-DD")
                    with gr.Column(scale=2):
                        gr.Markdown("### Sources")
                        sources = gr.HTML(h_sources_placeholder(), elem_id="sources")

                def on_ask(
                    message: str,
                    messages: list[Any],
                    state: list[Any],
                    vols: list[str],
                    since: str,
                    until: str,
                ) -> Any:
                    for update in h.chat(message, messages, state, vols, since, until):
                        yield update.messages, update.turns, update.sources or gr.skip(), update.answer, ""

                chat_inputs = [question, chatbot, turns, chat_volumes, chat_since, chat_until]
                chat_outputs = [chatbot, turns, sources, last_answer, question]
                ask.click(on_ask, chat_inputs, chat_outputs, api_visibility="private")
                question.submit(on_ask, chat_inputs, chat_outputs, api_visibility="private")
                last_answer.change(h.export_answer, last_answer, download, api_visibility="private")
                new_chat.click(
                    lambda: ([], [], h_sources_placeholder(), None, None),
                    None,
                    [chatbot, turns, sources, last_answer, download],
                    api_visibility="private",
                )

            with gr.Tab("Search", id="search"):
                found = gr.State([])
                with gr.Row():
                    query = gr.Textbox(label="Search passages", scale=4, elem_id="search-query")
                    k = gr.Slider(1, 50, value=10, step=1, label="Passages", scale=1)
                with gr.Row():
                    search_volumes = gr.Dropdown(choices, multiselect=True, label="Briefs")
                    search_since = gr.Textbox(label="Dated from", placeholder="YYYY or YYYY-MM-DD")
                    search_until = gr.Textbox(label="Dated until", placeholder="YYYY or YYYY-MM-DD")
                search_button = gr.Button("Search", variant="primary")
                search_status = gr.Markdown()
                table = gr.Dataframe(
                    headers=render.PASSAGE_COLUMNS,
                    wrap=True,
                    interactive=False,
                )
                with gr.Row():
                    export_format = gr.Radio(EXPORT_FORMATS, value="csv", label="Export format")
                    export_button = gr.Button("Export results")
                    export_file = gr.File(label="Export", interactive=False)
                search_inputs = [query, search_volumes, search_since, search_until, k]
                search_outputs = [table, found, search_status]
                search_button.click(
                    h.search, search_inputs, search_outputs, api_name="ui_search", api_visibility="private"
                )
                query.submit(
                    h.search,
                    search_inputs,
                    search_outputs,
                    api_name="ui_search_submit",
                    api_visibility="private",
                )
                export_button.click(
                    h.export_passages, [found, query, export_format], export_file, api_visibility="private"
                )

            with gr.Tab("Evaluate", id="evaluate"):
                gr.Markdown(
                    "Run a test set (JSON Lines or CSV: `question`, `volume`, optional `answer`, "
                    "`evidence`; `volume: null` = must refuse) through the assistant."
                )
                with gr.Row():
                    testset_file = gr.File(
                        label="Upload a test set", file_types=[".jsonl", ".csv"], type="filepath"
                    )
                    bundled = gr.Dropdown(
                        bundled_sets,
                        label="…or pick a bundled one",
                        value=next(iter(bundled_sets), None),
                    )
                run_button = gr.Button("Run evaluation", variant="primary")
                eval_status = gr.Markdown()
                with gr.Row():
                    metrics = gr.Dataframe(headers=["metric", "value"], interactive=False, scale=1)
                    chart = gr.Image(label="hit@k and latency", type="filepath", scale=2)
                per_question = gr.Dataframe(
                    headers=["line", "question", "expected", "result", "why", "answer"],
                    wrap=True,
                    interactive=False,
                )
                report = gr.File(label="Report (HTML)", interactive=False)

                def on_run(upload: str | None, pick: str | None, progress: Any = PROGRESS) -> Any:
                    try:
                        return h.run_eval(
                            upload, pick, lambda done, total: progress((done, total), unit="questions")
                        )
                    except (ValueError, OSError) as exc:
                        raise gr.Error(str(exc)) from exc

                run_button.click(
                    on_run,
                    [testset_file, bundled],
                    [metrics, chart, per_question, report, eval_status],
                    api_visibility="private",
                )

            with gr.Tab("Library", id="library"):
                summary = gr.Markdown(summary_text)
                briefs = gr.Dataframe(
                    value=rows,
                    headers=["volume", "title", "date", "language", "chunks", "file", "id"],
                    wrap=True,
                    interactive=False,
                )
                with gr.Row():
                    uploads = gr.File(
                        label="Add brief files",
                        file_count="multiple",
                        type="filepath",
                        file_types=sorted(_suffixes()),
                    )
                    upload_log = gr.Textbox(label="Indexing result", lines=6, interactive=False)
                with gr.Row():
                    to_remove = gr.Dropdown(choices, label="Remove a brief")
                    remove_button = gr.Button("Remove", variant="stop")

                def refresh() -> Any:
                    summary_text, rows, choices = h.library_view()
                    return (
                        summary_text,
                        rows,
                        gr.update(choices=choices, value=None),
                        gr.update(choices=choices),
                        gr.update(choices=choices),
                    )

                refreshed = [summary, briefs, to_remove, chat_volumes, search_volumes]
                uploads.upload(h.upload, uploads, upload_log, api_visibility="private").then(
                    refresh, None, refreshed, api_visibility="private"
                )
                remove_button.click(h.remove, to_remove, upload_log, api_visibility="private").then(
                    refresh, None, refreshed, api_visibility="private"
                )

        _api(h)
    return app


def h_sources_placeholder() -> str:
    return (
        "<p class='muted'>Sources of the latest answer appear here; the chips in an answer link to them.</p>"
    )


def _suffixes() -> set[str]:
    from assistant.briefs import SUPPORTED_SUFFIXES

    return set(SUPPORTED_SUFFIXES)


def _api(h: Handlers) -> None:
    """Endpoints for programs (gradio_client): the same actions, as JSON."""
    import gradio as gr

    def ask(question: str, volumes: str = "", since: str = "", until: str = "") -> dict[str, Any]:
        flt = make_filter([v for v in volumes.split(",") if v.strip()], since, until)
        return h.assistant.ask(question, flt=flt).to_dict()

    def search(
        query: str, k: int = 5, volumes: str = "", since: str = "", until: str = ""
    ) -> list[dict[str, Any]]:
        flt = make_filter([v for v in volumes.split(",") if v.strip()], since, until)
        return [p.to_dict() for p in h.assistant.retrieve(h.assistant.clean(query), flt, k=int(k)).passages]

    def evaluate(testset: str) -> dict[str, Any]:
        metrics, _, questions, report, status = h.run_eval(None, testset)
        return {"metrics": dict(metrics), "questions": questions, "status": status, "report": str(report)}

    def briefs() -> list[list[Any]]:
        return h.library_rows()

    def testsets() -> list[str]:
        return list(h.bundled_testsets())

    register = gr.api  # type: ignore[attr-defined]
    register(ask, api_name="ask")
    register(search, api_name="search")
    register(evaluate, api_name="evaluate")
    register(briefs, api_name="briefs")
    register(testsets, api_name="testsets")


def serve(settings: Settings, *, block: bool = True) -> Any:
    """Open the index (loading the model once), then serve the app on settings.host:settings.port."""
    if not _is_loopback(settings.host) and not (settings.auth_user and settings.auth_password):
        raise ConfigError(
            f"refusing to serve on {settings.host} without a login",
            hint="set ASSISTANT_AUTH_USER and ASSISTANT_AUTH_PASSWORD, or serve on 127.0.0.1",
        )
    data = settings.data_dir.resolve()
    (data / "tmp").mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(data / "tmp")  # uploads land in the app's own folder
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    library = Library.open(settings, write=True, purpose="assistant serve")
    library.warm_up()
    app = build_app(library)
    app.queue(default_concurrency_limit=settings.concurrency, max_size=200)
    auth = None
    if settings.auth_user and settings.auth_password:
        auth = (settings.auth_user, settings.auth_password.get_secret_value())
    log.info("serving on http://%s:%d", settings.host, settings.port)
    return app.launch(
        server_name=settings.host,
        server_port=settings.port,
        share=False,
        auth=auth,
        max_file_size=f"{int(settings.max_upload_mb)}mb",
        prevent_thread_lock=not block,
        quiet=True,
        show_error=True,
        css=CSS,
        theme=gr.themes.Default(
            font=["Noto Sans", "Noto Sans CJK KR", "DejaVu Sans", "sans-serif"],
            font_mono=["DejaVu Sans Mono", "monospace"],
        ),
        footer_links=[],
        ssr_mode=False,
        mcp_server=False,
        blocked_paths=[str(Path(settings.store_dir).resolve())],
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
