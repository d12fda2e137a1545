"""The Gradio web app: it renders what the assistant package computes, nothing more."""
