"""The grading engine: a trusted pytest side that decides, a sandboxed worker that runs student code."""

__version__ = "0.1.0"
