"""The web app: Chat, Search, Evaluate and Library tabs over one opened library.

Layout and wiring only; every action is a method of `Handlers`. The model and the index load once,
before the page is served; what the page shows of the library is read afresh on every page load and
after every change.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import AssistantError, ConfigError
from assistant.library import Library
from assistant.ui import render
from assistant.ui.handlers import SORTS, ChatUpdate, Handlers, SearchResult, make_filter
from assistant.ui.login import AddressGuard, checker

log = logging.getLogger(__name__)

CSS = """
.chip { display:inline-block; padding:0 .45em; margin-left:.25em; border-radius:.7em; font-size:.8em;
        background:#e6f0ff; color:#1a4d8f !important; text-decoration:none !important;
        border:1px solid #b3cdf5; }
.sources .source { border-left:3px solid #3182ce; padding:.4em .8em; margin:.6em 0; background:#fafcff;
                   scroll-margin-top: 1em; }
.sources .source:target { border-left-color:#dd6b20; background:#fff7ed; outline:2px solid #f6ad55; }
.source-meta { color:#555; font-size:.85em; margin:.2em 0; }
.source-text mark, .brief-view mark { background:#fff3a3; }
.in-brief summary { cursor:pointer; color:#1a4d8f; font-size:.85em; margin-top:.3em; }
.brief-view { max-height:22em; overflow:auto; border:1px solid #e2e8f0; padding:.4em .6em; margin-top:.3em;
              background:#fff; font-size:.92em; }
.brief-view .around { color:#666; }
.context-note { color:#7b341e; }
.muted { color:#777; }
#search-table td { vertical-align:top; }
"""
# Copies the latest answer as plain text; falls back to a selection copy where the clipboard API is
# not available (a page served without TLS on another host).
COPY_JS = """(text) => {
  const done = () => "Copied to the clipboard.";
  if (!text) { return "Nothing to copy yet."; }
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text).then(done, () => "Copying was refused by the browser.");
  }
  const area = document.createElement("textarea");
  area.value = text; document.body.appendChild(area); area.select();
  const ok = document.execCommand("copy"); area.remove();
  return ok ? done() : "Copying was refused by the browser.";
}"""
HINT = "Enter sends · Shift+Enter starts a new line"
EXPORT_FORMATS = ["csv", "json", "md"]


@dataclass
class Pickers:
    """The components that list briefs or test sets, refreshed on every page load."""

    chat_volumes: Any
    search_volumes: Any
    to_remove: Any
    bundled: Any
    summary: Any
    table: Any


def build_app(library: Library) -> Any:
    """The Gradio Blocks app (not launched)."""
    import gradio as gr

    h = Handlers(library)
    h.tidy_uploads()  # folders of uploads a stopped app left behind, that no brief comes from
    with gr.Blocks(
        title="KRIHS Policy Brief assistant", analytics_enabled=False, delete_cache=(900, 3600)
    ) as app:
        gr.Markdown(
            "## KRIHS Policy Brief assistant\nAnswers cite the brief they come from; "
            "when the briefs don't say, the assistant says so."
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat_volumes = _chat_tab(h)
            with gr.Tab("Search", id="search"):
                search_volumes = _search_tab(h)
            with gr.Tab("Evaluate", id="evaluate"):
                bundled = _evaluate_tab(h)
            with gr.Tab("Library", id="library"):
                pickers = _library_tab(h, chat_volumes, search_volumes, bundled)
        app.load(lambda: _refresh(h), None, _outputs(pickers), api_visibility="private")
        _api(h)
    return app


def _chat_tab(h: Handlers) -> Any:
    import gradio as gr

    turns = gr.State([])
    last_answer = gr.State(None)
    pending = gr.State("")  # the question being answered (the box is cleared as soon as it is sent)
    run = gr.State("")  # the id of the answer in progress, for Stop
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(label="Conversation", height=460, buttons=[], elem_id="chat")
            question = gr.Textbox(
                label="Your question",
                placeholder=f"e.g. What role do the US manufacturing innovation institutes play?  ({HINT})",
                lines=1,
                max_lines=6,
                elem_id="question",
            )
            with gr.Row():
                ask = gr.Button("Ask", variant="primary", elem_id="ask")
                stop = gr.Button("Stop", interactive=False, elem_id="stop")
                fresh = gr.Button("Ask without context", visible=False, elem_id="no-context")
                new_chat = gr.Button("New chat", elem_id="new-chat")
            with gr.Row():
                copy = gr.Button("Copy answer", size="sm", elem_id="copy")
                download = gr.DownloadButton(
                    "Download answer (.md)", value=None, size="sm", elem_id="dl-answer"
                )
                download_all = gr.DownloadButton(
                    "Download conversation (.md)", value=None, size="sm", elem_id="dl-conversation"
                )
            copied = gr.Markdown(elem_id="copied")
            plain = gr.Textbox(visible="hidden", elem_id="plain-answer")
            with gr.Accordion("Filters", open=False, elem_id="chat-filters"):
                volumes = gr.Dropdown([], multiselect=True, label="Briefs", elem_id="chat-volumes")
                with gr.Row():
                    since = gr.Textbox(label="Dated from", placeholder="YYYY or YYYY-MM-DD")
                    until = gr.Textbox(label="Dated until", placeholder="YYYY or YYYY-MM-DD")
        with gr.Column(scale=2):
            gr.Markdown("### Sources")
            sources = gr.HTML(_placeholder(), elem_id="sources")

    def take(text: str) -> Any:
        """Clear the box, lock Ask while the answer runs and give the answer its run id."""
        return text, "", gr.update(interactive=False), gr.update(interactive=True), "", h.runs.start()

    def answer(
        text: str, run_id: str, messages: Any, state: Any, vols: Any, since_: str, until_: str, context: bool
    ) -> Any:
        # The answer unlocks Ask itself when it ends: a stopped answer's late end must not unlock the
        # next one (a separate `.then` step would, as it reads the session's state when it runs).
        busy = (gr.skip(), gr.skip())
        for update in h.chat(text, messages, state, vols, since_, until_, use_context=context):
            if h.runs.stopped(run_id):  # Stop already said so and unlocked Ask; the rest is dropped
                return
            yield (*_chat_outputs(update, h), *busy)
        if not h.runs.stopped(run_id):
            yield (*(gr.skip(),) * 7, gr.update(interactive=True), gr.update(interactive=False))

    def answer_in_context(
        text: str, run_id: str, messages: Any, state: Any, vols: Any, since_: str, until_: str
    ) -> Any:
        yield from answer(text, run_id, messages, state, vols, since_, until_, True)

    def answer_alone(
        text: str, run_id: str, messages: Any, state: Any, vols: Any, since_: str, until_: str
    ) -> Any:
        yield from answer(text, run_id, messages, state, vols, since_, until_, False)

    def stopped(messages: Any, run_id: str) -> Any:
        """Stop pressed: the unfinished reply says so (nothing of it is kept in the conversation)."""
        h.runs.stop(run_id)
        shown = list(messages or [])
        if shown and shown[-1].get("role") == "assistant":
            shown[-1] = {"role": "assistant", "content": "<span class='muted'>Stopped.</span>"}
        elif shown and shown[-1].get("role") == "user":  # stopped before the first word
            shown.append({"role": "assistant", "content": "<span class='muted'>Stopped.</span>"})
        return shown, gr.update(interactive=True), gr.update(interactive=False)

    outputs = [chatbot, turns, sources, last_answer, plain, fresh, download_all]
    common = [chatbot, turns, volumes, since, until]
    answering = [*outputs, ask, stop]
    for trigger in (ask.click, question.submit):
        started = trigger(take, [question], [pending, question, ask, stop, copied, run], queue=False)
        started.then(  # "multiple": a question asked while a stopped answer winds down still runs
            answer_in_context,
            [pending, run, *common],
            answering,
            api_visibility="private",
            trigger_mode="multiple",
        )
    fresh.click(
        lambda t: (t, gr.update(interactive=False), gr.update(interactive=True), h.runs.start()),
        [pending],
        [pending, ask, stop, run],
        queue=False,
    ).then(
        answer_alone, [pending, run, *common], answering, api_visibility="private", trigger_mode="multiple"
    )
    stop.click(stopped, [chatbot, run], [chatbot, ask, stop], queue=False)
    last_answer.change(h.export_answer, last_answer, download, api_visibility="private")
    copy.click(None, [plain], [copied], js=COPY_JS)
    for reset in (new_chat.click, chatbot.clear):  # the chat's own bin icon forgets the turns too
        reset(
            lambda: ([], [], _placeholder(), None, None, "", gr.update(visible=False), None, ""),
            None,
            [chatbot, turns, sources, last_answer, download, plain, fresh, download_all, copied],
            queue=False,
        )
    return volumes


def _chat_outputs(update: ChatUpdate, h: Handlers) -> tuple[Any, ...]:
    import gradio as gr

    if update.answer is None and not update.sources:  # still streaming
        return (update.messages, update.turns, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip())
    answer = update.answer
    return (
        update.messages,
        update.turns,
        update.sources,
        answer,
        render.answer_plain(answer) if answer is not None else "",
        gr.update(visible=bool(answer is not None and answer.context)),
        h.export_conversation(update.turns),
    )


def _search_tab(h: Handlers) -> Any:
    import gradio as gr

    found = gr.State(None)
    with gr.Row():
        query = gr.Textbox(label="Search passages", scale=4, elem_id="search-query", info="Enter searches")
        k = gr.Slider(1, 50, value=10, step=1, label="Passages", scale=1)
    with gr.Row():
        volumes = gr.Dropdown([], multiselect=True, label="Briefs", elem_id="search-volumes")
        since = gr.Textbox(label="Dated from", placeholder="YYYY or YYYY-MM-DD")
        until = gr.Textbox(label="Dated until", placeholder="YYYY or YYYY-MM-DD")
    with gr.Row():
        search = gr.Button("Search", variant="primary", elem_id="search-button")
        order = gr.Radio(list(SORTS), value="relevance", label="Sort by", elem_id="search-order")
    status = gr.Markdown(elem_id="search-status")
    table = gr.Dataframe(
        headers=render.SEARCH_COLUMNS,
        column_widths=render.SEARCH_WIDTHS,
        wrap=True,
        interactive=False,
        elem_id="search-table",
    )
    with gr.Row():
        fmt = gr.Radio(EXPORT_FORMATS, value="csv", label="Export format", elem_id="export-format")
        export = gr.Button("Export results", elem_id="export")
        exported = gr.File(label="Export", interactive=False, elem_id="export-file")

    def run(q: str, vols: Any, since_: str, until_: str, n: float, sort: str) -> Any:
        result = h.search(q, vols, since_, until_, int(n), sort)
        return result.rows, result, result.status

    def resort(result: SearchResult | None, sort: str) -> Any:
        if result is None:
            return gr.skip(), gr.skip()
        again = h.sort(result, sort)
        return again.rows, again

    inputs = [query, volumes, since, until, k, order]
    search.click(run, inputs, [table, found, status], api_visibility="private")
    query.submit(run, inputs, [table, found, status], api_visibility="private")
    order.change(resort, [found, order], [table, found], api_visibility="private")
    export.click(
        lambda result, q, f: h.export_passages(result.passages if result else None, q, f),
        [found, query, fmt],
        exported,
        api_visibility="private",
    )
    return volumes


def _evaluate_tab(h: Handlers) -> Any:
    import gradio as gr

    gr.Markdown(
        "Run a test set (JSON Lines or CSV: `question`, `volume`, optional `answer`, `evidence`, "
        "`conversation` and `turn`; `volume: null` = must refuse) through the assistant."
    )
    with gr.Row():
        upload = gr.File(label="Upload a test set", file_types=[".jsonl", ".csv"], type="filepath")
        bundled = gr.Dropdown([], label="…or pick a bundled one", elem_id="bundled")
    run = gr.Button("Run evaluation", variant="primary", elem_id="run-eval")
    status = gr.Markdown(elem_id="eval-status")
    with gr.Row():
        metrics = gr.Dataframe(
            headers=["metric", "value"],
            column_widths=["75%", "25%"],
            wrap=True,
            interactive=False,
            scale=1,
            elem_id="metrics",
        )
        chart = gr.Image(label="hit@k and latency", type="filepath", scale=2, elem_id="chart")
    per_question = gr.Dataframe(
        headers=["line", "question", "expected", "result", "why", "answer"],
        column_widths=["5%", "30%", "9%", "6%", "20%", "30%"],
        wrap=True,
        interactive=False,
        elem_id="per-question",
    )
    report = gr.File(label="Report (HTML)", interactive=False, elem_id="report")

    progress_bar = gr.Progress()  # Gradio fills in progress through this default value

    def on_run(path: str | None, pick: str | None, progress: Any = progress_bar) -> Any:
        try:
            view = h.run_eval(path, pick, lambda done, total: progress((done, total), unit="questions"))
        except (AssistantError, ValueError, OSError) as exc:
            raise gr.Error(str(exc)) from exc
        return view.metrics, view.chart, view.questions, view.report, view.status

    run.click(
        on_run, [upload, bundled], [metrics, chart, per_question, report, status], api_visibility="private"
    )
    return bundled


def _library_tab(h: Handlers, chat_volumes: Any, search_volumes: Any, bundled: Any) -> Pickers:
    import gradio as gr

    summary = gr.Markdown(elem_id="library-summary")
    table = gr.Dataframe(
        headers=render.LIBRARY_COLUMNS,
        column_widths=["9%", "50%", "11%", "8%", "7%", "15%"],
        wrap=True,
        interactive=False,
        elem_id="library-table",
    )
    with gr.Row():
        uploads = gr.File(
            label="Add brief files",
            file_count="multiple",
            type="filepath",
            file_types=sorted(_suffixes()),
            elem_id="uploads",
        )
        with gr.Column():
            log_box = gr.Textbox(label="What happened", lines=6, interactive=False, elem_id="library-log")
            allow = gr.Checkbox(
                label="Add near-duplicates too (briefs whose text mostly repeats an indexed one)",
                value=False,
                elem_id="allow-near-duplicates",
            )
    with gr.Row():
        to_remove = gr.Dropdown([], label="Remove a brief", value=None, elem_id="to-remove")
        remove = gr.Button("Remove…", variant="stop", elem_id="remove")
    with gr.Group(visible=False) as confirm_box:
        question = gr.Markdown(elem_id="confirm-text")
        with gr.Row():
            confirm = gr.Button("Yes, remove it", variant="stop", elem_id="confirm-remove")
            cancel = gr.Button("Cancel", elem_id="cancel-remove")
    pickers = Pickers(chat_volumes, search_volumes, to_remove, bundled, summary, table)
    refreshed = _outputs(pickers)

    def ask_first(doc_id: str | None) -> Any:
        return gr.update(visible=bool(doc_id)), h.confirm_text(doc_id), "" if doc_id else h.confirm_text(None)

    # The upload box is emptied with the refresh (one update, so the page shows the new library and
    # an empty box together): it keeps every file it was given, and the next upload would send the
    # earlier ones again (a held-back file's folder is already gone).
    uploads.upload(h.upload_steps, [uploads, allow], log_box, api_visibility="private").then(
        lambda: (*_refresh(h), None), None, [*refreshed, uploads], api_visibility="private"
    )
    remove.click(ask_first, to_remove, [confirm_box, question, log_box], queue=False)
    cancel.click(lambda: (gr.update(visible=False), "Nothing was removed."), None, [confirm_box, log_box])
    confirm.click(
        lambda doc_id: (gr.update(visible=False), h.remove(doc_id)),
        to_remove,
        [confirm_box, log_box],
        api_visibility="private",
    ).then(lambda: _refresh(h), None, refreshed, api_visibility="private")
    return pickers


def _outputs(p: Pickers) -> list[Any]:
    return [p.summary, p.table, p.to_remove, p.chat_volumes, p.search_volumes, p.bundled]


def _refresh(h: Handlers) -> tuple[Any, ...]:
    """The library as it is now: summary, table and every picker (read on each page load)."""
    import gradio as gr

    summary, rows, every, searchable = h.library_view()
    sets = list(h.bundled_testsets())
    return (
        summary,
        rows,
        gr.update(choices=every, value=None),
        gr.update(choices=searchable),
        gr.update(choices=searchable),
        gr.update(choices=sets, value=sets[0] if sets else None),
    )


def _placeholder() -> str:
    return (
        "<p class='muted'>Sources of the latest answer appear here; the chips in an answer link to them.</p>"
    )


def _suffixes() -> set[str]:
    from assistant.reading import SUPPORTED_SUFFIXES

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
        n = max(1, min(int(k), 50))
        return [p.to_dict() for p in h.assistant.retrieve(h.assistant.clean(query), flt, k=n).passages]

    def evaluate(testset: str) -> dict[str, Any]:
        view = h.run_eval(None, testset)
        return {
            "metrics": dict(view.metrics),
            "questions": view.questions,
            "status": view.status,
            "report": Path(view.report).name if view.report else None,
        }

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
    os.environ["GRADIO_TEMP_DIR"] = str(data / "tmp")  # uploads and downloads live in the app's folder
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    library = Library.open(settings, write=True, purpose="assistant serve")
    library.finish_pending()  # a write the last run left unfinished (killed mid-upload) is completed
    library.warm_up()
    app = build_app(library)
    app.queue(default_concurrency_limit=settings.concurrency, max_size=200)
    auth, app_kwargs = None, {}
    if settings.auth_user and settings.auth_password:
        from starlette.middleware import Middleware

        auth = checker(settings.auth_user, settings.auth_password.get_secret_value())
        app_kwargs = {"middleware": [Middleware(AddressGuard)]}  # back-off per client address too
    log.info("serving on http://%s:%d", settings.host, settings.port)
    return app.launch(
        server_name=settings.host,
        server_port=settings.port,
        share=False,
        auth=auth,
        app_kwargs=app_kwargs,
        max_file_size=f"{int(settings.max_upload_mb)}mb",
        prevent_thread_lock=not block,
        quiet=True,
        show_error=False,
        css=CSS,
        theme=gr.themes.Default(
            font=["Noto Sans", "NanumGothic", "Noto Sans CJK KR", "DejaVu Sans", "sans-serif"],
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
