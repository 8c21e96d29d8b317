"""mlcops: GitHub Actions runners that build MLC-LLM, and the release that follows."""

__version__ = "0.1.0"
