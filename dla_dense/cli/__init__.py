"""Command-line entry points; ``tools/*.py`` call these ``main`` functions."""
