"""KRIHS Policy Brief assistant: ingest briefs, search passages, answer with verified citations."""

__version__ = "0.1.0"
