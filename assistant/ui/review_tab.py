"""The review queue, under the Evaluate tab: feedback and refusals, staff labels, the export as a test
set, and what the briefs don't cover."""

from __future__ import annotations

from typing import Any

from assistant.ui.handlers import Handlers
from assistant.ui.review import QUEUE_HEADERS, VERDICT_CHOICES


def review_section(h: Handlers) -> tuple[Any, Any]:
    """Lays out the section; returns (queue table, item picker), which the page refreshes on load."""
    import gradio as gr

    review = h.review
    gr.Markdown(
        "### Review queue\nOfficials' 👍 / 👎 (with their notes) and every refused question, newest "
        "first. Label an item, then export the labelled ones as a test set for `assistant eval`."
    )
    table = gr.Dataframe(
        headers=QUEUE_HEADERS,
        column_widths=["9%", "11%", "6%", "30%", "12%", "20%", "12%"],
        wrap=True,
        interactive=False,
        elem_id="review-queue",
    )
    with gr.Row():
        item = gr.Dropdown([], label="Item", elem_id="review-item", scale=3)
        verdict = gr.Radio(VERDICT_CHOICES, label="Verdict", elem_id="review-verdict", scale=3)
        volume = gr.Textbox(
            label="Volume that answers", placeholder="e.g. 697", elem_id="review-volume", scale=1
        )
    with gr.Row():
        save = gr.Button("Save label", variant="primary", elem_id="review-save")
        refresh = gr.Button("Refresh", elem_id="review-refresh")
        export = gr.Button("Export labelled items as a test set", elem_id="review-export")
    said = gr.Markdown(elem_id="review-status")
    exported = gr.File(label="Test set from the review (JSONL)", interactive=False, elem_id="review-file")
    gr.Markdown("### What the briefs don't cover")
    group = gr.Button("Group the refused questions by topic", elem_id="uncovered-run")
    topics = gr.Markdown(elem_id="uncovered")

    def view() -> tuple[Any, Any]:
        return review.queue_rows(), gr.update(choices=review.queue_choices(), value=None)

    def on_save(pick: str | None, chosen: str | None, vol: str) -> tuple[Any, Any, str]:
        message = review.save_label(pick, chosen, vol)
        return review.queue_rows(), gr.update(choices=review.queue_choices(), value=pick), message

    def on_export() -> tuple[Any, str]:
        path, message = review.export()
        return path, message

    save.click(on_save, [item, verdict, volume], [table, item, said], api_visibility="private")
    refresh.click(view, None, [table, item], api_visibility="private")
    export.click(on_export, None, [exported, said], api_visibility="private")
    group.click(review.uncovered, None, topics, api_visibility="private")
    return table, item


def review_view(h: Handlers) -> tuple[Any, Any]:
    import gradio as gr

    return h.review.queue_rows(), gr.update(choices=h.review.queue_choices(), value=None)
