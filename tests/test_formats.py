"""Every input format, every encoding, and every kind of bad file (all generated here, not committed)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from assistant.errors import BriefReadError
from assistant.reading import read_brief
from tests.pdfmaker import encrypt_pdf, make_pdf

MAX = 10_000_000
PAGE = (
    "brief view\nTITLE River parks and urban heat\nVolume vol.901 DATE 2021-05-03 HIT 12\n\n"
    "River parks and urban heat\n\nKim Test, Research Fellow, KRIHS\n\n"
    "(Current issue) Cities are getting hotter in summer.\n\nPolicy proposals\n\n"
    "1. Build parks along rivers.\n2. Fund them with local taxes.\n"
)
PDF_PAGES = [
    [
        "KRIHS Policy Brief vol.902  2021-06-01",
        "Cooling cities with river parks",
        "Kim Test, Research Fellow, KRIHS",
        "",
        "1. Cities are getting hotter in summer and",
        "parks lower the temperature nearby.",
    ],
    ["Policy proposals", "1. Build parks along rivers.", "2. Fund them with local taxes."],
]


def write(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode(encoding) if isinstance(data, str) else data)
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp949", "euc-kr"])
def test_text_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    text = PAGE.replace("Cities are getting hotter", "도시는 여름에 더워지고 있다. Cities are getting hotter")
    brief = read_brief(write(tmp_path, "b.txt", text, encoding), max_bytes=MAX)
    assert brief.doc_id == "901"
    assert "도시는 여름에 더워지고 있다" in brief.text


def test_pdf_keeps_page_numbers(tmp_path: Path) -> None:
    brief = read_brief(write(tmp_path, "b.pdf", make_pdf(PDF_PAGES)), max_bytes=MAX)
    assert (brief.doc_id, brief.date, brief.pages) == ("902", "2021-06-01", 2)
    assert brief.title == "Cooling cities with river parks"
    first = next(b for b in brief.blocks if b.text.startswith("1. Cities"))
    assert first.page == 1
    assert "parks lower the temperature nearby" in first.text  # wrapped lines rejoined
    proposals = [b for b in brief.blocks if b.section == "Policy proposals"]
    assert [b.page for b in proposals] == [2, 2]


def test_html_drops_scripts_styles_and_navigation(tmp_path: Path) -> None:
    html = (
        "<html><head><title>site</title><style>.x{color:red}</style></head><body>"
        "<nav><a href='/'>Home</a></nav><script>alert('stolen cookies')</script>"
        "<h1>River parks and urban heat</h1><p>Vol. 903 &middot; 2021-07-01</p>"
        "<p>(Current issue) Cities are getting hotter.</p><h2>Policy proposals</h2>"
        "<ol><li>Build parks along rivers.</li><li>Fund them locally.</li></ol></body></html>"
    )
    brief = read_brief(write(tmp_path, "b.html", html), max_bytes=MAX)
    assert (brief.doc_id, brief.title, brief.date) == ("903", "River parks and urban heat", "2021-07-01")
    assert "alert" not in brief.text and "color:red" not in brief.text and "Home" not in brief.text
    assert [b.section for b in brief.blocks if "Build parks" in b.text] == ["Policy proposals"]


def test_markdown_headings_become_sections(tmp_path: Path) -> None:
    md = (
        "# River parks\n\nVol. 904, 2021-08-01\n\n**Cities** are [getting hotter](http://x).\n\n"
        "## Policy proposals\n\n* Build parks.\n"
    )
    brief = read_brief(write(tmp_path, "b.md", md), max_bytes=MAX)
    assert (brief.doc_id, brief.title) == ("904", "River parks")
    assert "Cities are getting hotter." in brief.text
    assert [b.section for b in brief.blocks if "Build parks" in b.text] == ["Policy proposals"]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"   \n\t\n  ", "empty"),
        ("junk.pdf", os.urandom(4096), "not a PDF"),
        ("truncated.pdf", make_pdf(PDF_PAGES)[:300], "cannot be parsed"),
        ("scanned.pdf", make_pdf(PDF_PAGES, text_layer=False), "no text layer"),
        ("locked.pdf", encrypt_pdf(make_pdf(PDF_PAGES)), "password-protected"),
        ("bad-utf8.txt", b"Policy brief text \xff\xfe\xfa\xfb broken " * 10, "not valid utf-8"),
        ("binary.txt", bytes(range(256)) * 20, "not valid utf-8"),
        ("chrome-only.txt", "  • Home\n  • What's new\nbrief view\n".encode(), "no brief text"),
        ("notes.docx", b"PK\x03\x04 zip", "unsupported file type"),
    ],
)
def test_bad_files_raise_clear_errors(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = write(tmp_path, name, data)
    with pytest.raises(BriefReadError) as info:
        read_brief(path, max_bytes=MAX)
    message = str(info.value)
    assert name in message  # names the file
    assert reason.lower() in message.lower()


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = write(tmp_path, "huge.txt", "x" * 2_000_001)
    with pytest.raises(
        BriefReadError, match=r"(?s)2,000,001 bytes, over the 2\.0 MB limit.*ASSISTANT_MAX_FILE_MB"
    ):
        read_brief(path, max_bytes=2_000_000)


def test_unreadable_file_and_folder_and_symlink_loop(tmp_path: Path) -> None:
    locked = write(tmp_path, "locked.txt", PAGE)
    locked.chmod(0)
    assert "permission denied" in _read_unprivileged(locked)
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    with pytest.raises(BriefReadError, match="folder, not a file"):
        read_brief(folder, max_bytes=MAX)
    loop = tmp_path / "loop.txt"
    loop.symlink_to(tmp_path / "loop2.txt")
    (tmp_path / "loop2.txt").symlink_to(loop)
    with pytest.raises(BriefReadError, match="looping symbolic link"):
        read_brief(loop, max_bytes=MAX)


def _read_unprivileged(path: Path) -> str:
    """The error `read_brief` gives for `path` read by a user the file's mode shuts out. Root reads
    any file, so as root the read runs in a forked child that first becomes the unprivileged user
    `nobody` (the code is already loaded; only the file is opened), on a copy in a folder that user
    may enter; the message comes back through a pipe."""
    if os.geteuid() != 0:
        with pytest.raises(BriefReadError) as info:
            read_brief(path, max_bytes=MAX)
        return str(info.value)
    folder = Path(tempfile.mkdtemp(prefix="unreadable-"))
    try:
        folder.chmod(0o755)
        target = folder / path.name
        shutil.copy(path, target)
        target.chmod(0)
        readable, writable = os.pipe()
        child = os.fork()
        if child == 0:  # the child: drop root, read, report, leave without running pytest's exit code
            reply = "no error"
            try:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                read_brief(target, max_bytes=MAX)
            except BriefReadError as exc:
                reply = f"BriefReadError {exc}"
            except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails
                reply = f"{type(exc).__name__} {exc}"
            os.write(writable, reply.encode())
            os._exit(0)
        os.close(writable)
        with os.fdopen(readable, encoding="utf-8") as pipe:
            reply = pipe.read()
        os.waitpid(child, 0)
        assert reply.startswith("BriefReadError"), reply
        return reply
    finally:
        shutil.rmtree(folder, ignore_errors=True)
