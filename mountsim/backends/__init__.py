"""Backends: the same Program runs on the model, on the live kernel, or (later) in a VM."""
