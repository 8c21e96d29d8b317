"""Subcommands of the ``mlc_llm`` command line."""
