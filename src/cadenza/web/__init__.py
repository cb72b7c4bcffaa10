"""The web page: `cadenza serve` (Gradio), composing with the generation code for many people."""
