"""Answering: the reader (a local language model that judges passages), the answer policy, the runtime."""
