import sys

from shotsmith.cli import main

sys.exit(main())
