"""Run the shotsmith CLI in a subprocess with the test backends registered (priced-test, slow-test)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _test_backends import register  # noqa: E402

from shotsmith.cli import main  # noqa: E402

register()
sys.exit(main(sys.argv[1:]))
