"""Prompt templates, shipped as package data and read by `assistant.answering.prompts.load_prompt`."""
