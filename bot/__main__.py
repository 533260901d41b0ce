"""`python -m bot` is the `ecrbot` command."""

from bot.cli import main

raise SystemExit(main())
