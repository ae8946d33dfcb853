"""mountsim: an in-memory simulator of the Linux VFS mount tree, checked against the kernel."""

__version__ = "0.1.0"
