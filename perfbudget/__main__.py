"""``python -m perfbudget``: the CLI through a given interpreter (``uv run python -m perfbudget ...``).

The action installs perfbudget into the tests' environment (a uv, poetry or
pipenv virtualenv) whose scripts are not on PATH; its steps run the CLI
through that environment's Python instead.
"""

import sys

from perfbudget.cli import main

sys.exit(main())
