"""The Search, Evaluate and Library tabs, and the refresh that keeps every brief list current."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant.errors import AssistantError
from assistant.ui import render
from assistant.ui.handlers import SORTS, Handlers, SearchResult
from assistant.ui.review_tab import review_section

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


def search_tab(h: Handlers) -> Any:
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


def evaluate_tab(h: Handlers) -> tuple[Any, tuple[Any, Any]]:
    """The test-set runner, and the review queue under it; returns (bundled sets picker, queue views)."""
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
    return bundled, review_section(h)


def library_tab(h: Handlers, chat_volumes: Any, search_volumes: Any, bundled: Any) -> Pickers:
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
    refreshed = outputs(pickers)

    def ask_first(doc_id: str | None) -> Any:
        return gr.update(visible=bool(doc_id)), h.confirm_text(doc_id), "" if doc_id else h.confirm_text(None)

    # The upload box is emptied with the refresh (one update, so the page shows the new library and
    # an empty box together): it keeps every file it was given, and the next upload would send the
    # earlier ones again (a held-back file's folder is already gone).
    uploads.upload(h.upload_steps, [uploads, allow], log_box, api_visibility="private").then(
        lambda: (*refresh(h), None), None, [*refreshed, uploads], api_visibility="private"
    )
    remove.click(ask_first, to_remove, [confirm_box, question, log_box], queue=False)
    cancel.click(lambda: (gr.update(visible=False), "Nothing was removed."), None, [confirm_box, log_box])
    confirm.click(
        lambda doc_id: (gr.update(visible=False), h.remove(doc_id)),
        to_remove,
        [confirm_box, log_box],
        api_visibility="private",
    ).then(lambda: refresh(h), None, refreshed, api_visibility="private")
    return pickers


def outputs(p: Pickers) -> list[Any]:
    return [p.summary, p.table, p.to_remove, p.chat_volumes, p.search_volumes, p.bundled]


def refresh(h: Handlers) -> tuple[Any, ...]:
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


def _suffixes() -> set[str]:
    from assistant.reading import SUPPORTED_SUFFIXES

    return set(SUPPORTED_SUFFIXES)
