"""The reader's probe: what the reader model's hidden state says of an excerpt.

The reader asks the local model "does this excerpt contain what was asked?" and reads the first token of
its reply. The probe reads the same prompt another way: the model's last hidden state at the end of it
(where the reply would begin, 1,536 numbers) weighed by a logistic regression fitted on labelled
excerpts. On 168 excerpts of questions nothing was fitted on, it told answering excerpts from the rest
with AUROC 0.89 against the reply's 0.76, and a paraphrase the brief answers from a near-miss on the
same brief with 0.93 against 0.67 (`benchmarks/results/hidden-probe.json`).

The weights live in `probe.json` beside this module, with the data and the command that fitted them
(`python -m benchmarks.fit_policy`, which fits the probe and then the policy that weighs it). They
belong to one model and one wording of the prompt: both are recorded, and a probe fitted for another
is refused at load rather than weighed as if it fitted.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from assistant.answering.prompts import Prompt
from assistant.errors import ConfigError

PROBE_FILE = "probe.json"
_LIMIT = 8.0  # log-odds are clipped as the policy clips the reader's (policy._LOGIT_LIMIT)


def clipped(score: float) -> float:
    """A probe's score as the policy weighs it: log-odds within +-8."""
    return max(-_LIMIT, min(_LIMIT, score))


def prompt_digest(prompt: Prompt) -> str:
    """A template's wording, short: the probe's weights hold only for the prompt they were fitted on."""
    text = f"{prompt.system}\x1f{prompt.user}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Probe:
    """A fitted linear probe: log-odds that an excerpt states the answer, from the hidden state."""

    weights: tuple[float, ...]
    bias: float
    model: str  # the model whose states it weighs
    prompt: str  # `prompt_digest` of the YES/NO template it was fitted on
    source: dict[str, Any] = field(default_factory=dict)  # data, command and figures of the fit

    def score(self, state: Sequence[float]) -> float:
        if len(state) != len(self.weights):
            raise ConfigError(
                f"the probe weighs {len(self.weights)} numbers but the model gave {len(state)}",
                hint="refit it for this model: .venv/bin/python -m benchmarks.fit_policy",
            )
        return clipped(self.bias + math.fsum(w * s for w, s in zip(self.weights, state, strict=True)))

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "prompt": self.prompt,
            "bias": round(self.bias, 6),
            "weights": [round(w, 7) for w in self.weights],
            "source": self.source,
        }


def load_probe(model: str, prompt: Prompt, path: Path | None = None) -> Probe:
    """The shipped probe (or another file), checked against the model and the YES/NO template in use."""
    source = path or resources.files("assistant.answering") / PROBE_FILE
    name = getattr(source, "name", str(source))
    hint = "refit it: .venv/bin/python -m benchmarks.fit_policy (or reinstall the package)"
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        probe = Probe(
            tuple(float(w) for w in data["weights"]),
            float(data["bias"]),
            str(data["model"]),
            str(data["prompt"]),
            dict(data.get("source", {})),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"the reader's probe file {name} cannot be used ({exc})", hint=hint) from exc
    if probe.model != model:
        raise ConfigError(f"the reader's probe {name} was fitted for {probe.model}, not {model}", hint=hint)
    if probe.prompt != prompt_digest(prompt):
        raise ConfigError(
            f"the reader's probe {name} was fitted on another wording of {prompt.name}.txt", hint=hint
        )
    return probe


@functools.cache
def probe_digest() -> str | None:
    """The shipped probe file's SHA-256, short (None when the package has none)."""
    source = resources.files("assistant.answering") / PROBE_FILE
    return hashlib.sha256(source.read_bytes()).hexdigest()[:16] if source.is_file() else None
