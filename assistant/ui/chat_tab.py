"""The Chat tab: the conversation, Ask / Stop / Ask without context / New chat, copy and downloads,
the brief filter, and the Sources panel beside it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from assistant.ui import render
from assistant.ui.handlers import ChatUpdate, Handlers
from assistant.ui.review import FLAGS

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


def chat_tab(h: Handlers) -> Any:
    """The chat tab with its events bound (about 60 lines: one binding per control, in page order)."""
    import gradio as gr

    c = _chat_layout()
    act = _chat_actions(h)
    outputs = [c.chatbot, c.turns, c.sources, c.last_answer, c.plain, c.fresh, c.download_all]
    common = [c.chatbot, c.turns, c.volumes, c.since, c.until]
    answering = [*outputs, c.ask, c.stop]
    for trigger in (c.ask.click, c.question.submit):
        started = trigger(
            act.take, [c.question], [c.pending, c.question, c.ask, c.stop, c.copied, c.run], queue=False
        )
        started.then(  # "multiple": a question asked while a stopped answer winds down still runs
            act.answer_in_context,
            [c.pending, c.run, *common],
            answering,
            api_visibility="private",
            trigger_mode="multiple",
        )
    c.fresh.click(
        lambda t: (t, gr.update(interactive=False), gr.update(interactive=True), h.runs.start()),
        [c.pending],
        [c.pending, c.ask, c.stop, c.run],
        queue=False,
    ).then(
        act.answer_alone,
        [c.pending, c.run, *common],
        answering,
        api_visibility="private",
        trigger_mode="multiple",
    )
    c.stop.click(act.stopped, [c.chatbot, c.run], [c.chatbot, c.ask, c.stop], queue=False)
    c.last_answer.change(h.export_answer, c.last_answer, c.download, api_visibility="private")
    c.copy.click(None, [c.plain], [c.copied], js=COPY_JS)

    def on_like(turns: Any, note: str, data: gr.LikeData, request: gr.Request) -> tuple[str, str]:
        session = str(getattr(request, "session_hash", "") or "")
        return h.review.rate(turns, data.value, data.liked, note, session), ""

    # Gradio finds the LikeData and Request arguments by their type hints, resolved against this
    # module's globals, where `gr` is not (gradio is imported lazily): give it the classes themselves.
    on_like.__annotations__.update(data=gr.LikeData, request=gr.Request)

    c.chatbot.like(on_like, [c.turns, c.note], [c.rated, c.note], api_visibility="private")
    for reset in (c.new_chat.click, c.chatbot.clear):  # the chat's own bin icon forgets the turns too
        reset(
            lambda: ([], [], placeholder(), None, None, "", gr.update(visible=False), None, ""),
            None,
            [
                c.chatbot,
                c.turns,
                c.sources,
                c.last_answer,
                c.download,
                c.plain,
                c.fresh,
                c.download_all,
                c.copied,
            ],
            queue=False,
        )
    return c.volumes


def _chat_layout() -> SimpleNamespace:
    """The chat tab's components (laid out where this is called), by name. It runs past 60 lines
    because it reads top to bottom as the page does."""
    import gradio as gr

    turns = gr.State([])
    last_answer = gr.State(None)
    pending = gr.State("")  # the question being answered (the box is cleared as soon as it is sent)
    run = gr.State("")  # the id of the answer in progress, for Stop
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                label="Conversation",
                height=460,
                buttons=[],
                feedback_options=("Like", "Dislike", *FLAGS),
                elem_id="chat",
            )
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
            note = gr.Textbox(
                label="Note for staff (optional)",
                placeholder="sent with your thumbs-up or thumbs-down under an answer, e.g. “missed vol.697”",
                max_lines=2,
                elem_id="feedback-note",
            )
            rated = gr.Markdown(elem_id="feedback-status")
            plain = gr.Textbox(visible="hidden", elem_id="plain-answer")
            with gr.Accordion("Filters", open=False, elem_id="chat-filters"):
                volumes = gr.Dropdown([], multiselect=True, label="Briefs", elem_id="chat-volumes")
                with gr.Row():
                    since = gr.Textbox(label="Dated from", placeholder="YYYY or YYYY-MM-DD")
                    until = gr.Textbox(label="Dated until", placeholder="YYYY or YYYY-MM-DD")
        with gr.Column(scale=2):
            gr.Markdown("### Sources")
            sources = gr.HTML(placeholder(), elem_id="sources")
    return SimpleNamespace(
        turns=turns,
        last_answer=last_answer,
        pending=pending,
        run=run,
        chatbot=chatbot,
        question=question,
        ask=ask,
        stop=stop,
        fresh=fresh,
        new_chat=new_chat,
        copy=copy,
        download=download,
        download_all=download_all,
        copied=copied,
        plain=plain,
        volumes=volumes,
        since=since,
        until=until,
        sources=sources,
        note=note,
        rated=rated,
    )


def _chat_actions(h: Handlers) -> SimpleNamespace:
    """What the chat tab's buttons do: take a question, answer it (with or without context), stop."""
    import gradio as gr

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

    return SimpleNamespace(
        take=take, answer_in_context=answer_in_context, answer_alone=answer_alone, stopped=stopped
    )


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


def placeholder() -> str:
    return (
        "<p class='muted'>Sources of the latest answer appear here; the chips in an answer link to them.</p>"
    )
