"""``python -m schema``: the schema module's command line."""

from schema.cli import main

raise SystemExit(main())
