"""Starting and stopping the real servers tests talk to, all on 127.0.0.1 and free ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(
    url: str, process: subprocess.Popen[bytes], timeout: float = 120, *, until_ok: bool = False
) -> None:
    """Return once `url` answers (any HTTP status counts: a login page is an answer), or with
    `until_ok`, once it answers 200 (llama.cpp's /health says 503 while its model loads)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            if not until_ok:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not become ready within {timeout:.0f} s") from None
            time.sleep(0.3)
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"the server for {url} exited with status {process.returncode}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout:.0f} s") from None
            time.sleep(0.3)


def start_app(
    store: Path | None, data: Path, timeout: float = 120, *, log: Path | None = None, **env: str
) -> tuple[subprocess.Popen[bytes], str]:
    """`assistant serve` on a free port; returns the process and its base URL (no trailing slash).
    With `log`, the server logs at INFO level into that file."""
    port = free_port()
    values = {**os.environ, "ASSISTANT_DATA_DIR": str(data), **env}
    if store is not None:
        values["ASSISTANT_STORE_DIR"] = str(store)
    verbose = ["-v"] if log else []
    with open(log, "ab") if log else open(os.devnull, "wb") as errors:
        process = subprocess.Popen(
            [str(BIN / "assistant"), *verbose, "serve", "--port", str(port)],
            env=values,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/", process, timeout)
    except RuntimeError:
        stop(process)
        raise
    return process, url


def start_chroma(folder: Path, timeout: float = 60) -> tuple[subprocess.Popen[bytes], str]:
    """Chroma's own server (`chroma run`) over `folder`."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "chroma"), "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/api/v2/heartbeat", process, timeout)
    except RuntimeError:
        stop(process)
        raise
    return process, url


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
