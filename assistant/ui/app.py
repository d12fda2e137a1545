"""The web app: Chat, Search, Evaluate and Library tabs over one opened library.

Layout and wiring only; every action is a method of `Handlers`. The model and the index load once,
before the page is served; what the page shows of the library is read afresh on every page load and
after every change.
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
from assistant.ui.chat_tab import chat_tab
from assistant.ui.handlers import Handlers, make_filter
from assistant.ui.login import AddressGuard, checker
from assistant.ui.review_tab import review_view
from assistant.ui.tabs import evaluate_tab, library_tab, outputs, refresh, search_tab

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
                chat_volumes = chat_tab(h)
            with gr.Tab("Search", id="search"):
                search_volumes = search_tab(h)
            with gr.Tab("Evaluate", id="evaluate"):
                bundled, queue = evaluate_tab(h)
            with gr.Tab("Library", id="library"):
                pickers = library_tab(h, chat_volumes, search_volumes, bundled)
        app.load(lambda: refresh(h), None, outputs(pickers), api_visibility="private")
        app.load(lambda: review_view(h), None, list(queue), api_visibility="private")
        _api(h)
    return app


def _api(h: Handlers) -> None:
    """Endpoints for programs (gradio_client): the same actions, as JSON."""
    import gradio as gr

    def ask(question: str, volumes: str = "", since: str = "", until: str = "") -> dict[str, Any]:
        flt = make_filter([v for v in volumes.split(",") if v.strip()], since, until)
        answer = h.assistant.ask(question, flt=flt)
        if answer.refused:  # kept for the review queue, as the chat's refusals are
            h.review.noted_refusal(answer)
        return answer.to_dict()

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
