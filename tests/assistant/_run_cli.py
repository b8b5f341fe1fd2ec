"""Run the shotsmith CLI in a subprocess with the test backends registered (priced-test, slow-test).

Started as ``python -m tests.assistant._run_cli`` from the repository root."""

import sys

from shotsmith.cli import main
from tests.assistant._test_backends import register

register()
sys.exit(main(sys.argv[1:]))
