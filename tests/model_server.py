"""A real OpenAI-compatible server for tests: llama.cpp's server (xllamacpp) over the packaged model,
on 127.0.0.1 and the given port, until the process is stopped.

    python -m tests.model_server --port 8123
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from assistant.answering.runtime import model_file


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model-dir", type=Path, default=Path("~/.cache/krihs-assistant"))
    args = parser.parse_args()
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model_file(args.model_dir))
    params.model_alias = "local"
    params.n_ctx = 4096
    params.n_parallel = 1
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = 2
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    server = xllamacpp.Server(params)
    print(server.listening_address, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()


if __name__ == "__main__":
    main()
