"""Traces: the project's scenario format (strace syntax plus header comments)."""
