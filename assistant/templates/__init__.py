"""Prompt templates, shipped as package data and read by `assistant.prompts.load_prompt`."""
