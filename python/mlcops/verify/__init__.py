"""``mlcops verify``: testinfra checks of every host and a software report per host."""
