"""How every stage runs: on a LesionError (or Ctrl-C) print one `error:` line, remove the stage's outputs, exit 1.

Removing the outputs keeps the promise that a failed stage leaves nothing behind; messages are written as one line
where they are raised, so nothing here rewrites them.
"""

import sys

from lesion.errors import LesionError
from lesion.files import remove


def run_stage(main, outputs=()):
    """Run a stage's main(); on failure remove `outputs` and report one line."""
    try:
        main()
    except (LesionError, KeyboardInterrupt) as error:
        for path in outputs:
            remove(path)
        print(f"error: {str(error) or 'interrupted'}", file=sys.stderr)
        sys.exit(1)
