"""An activity that kills its own process, as a crashing experiment would (used through PYTHONPATH)."""

import os


def crash_now() -> None:
    os._exit(9)
