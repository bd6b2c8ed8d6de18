"""The ``accel-explorer`` command line.

Bad input exits with status 2 and says which file or flag, what was wrong and what is allowed; it never
prints a traceback.

The parts: `explorer.cli_args` (the parser), `explorer.cli_tables` (``catalog VIEW``) and
`explorer.cli_commands` (evaluate, validate, app, workshop); this module runs the one that was asked for and
turns every error into a message.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from .catalog import CatalogError
from .catalog.check import one_line, problem_lines
from .cli_args import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, build_parser
from .cli_commands import (
    app_command,
    evaluate_command,
    scenario_from_args,
    validate_command,
    workshop_command,
)
from .cli_tables import catalog_command
from .scenario import ScenarioError, shown_value

__all__ = ["build_parser", "main", "scenario_from_args"]


def main(argv: Sequence[str] | None = None) -> int:
    from .startup import prepare_process

    prepare_process()  # before anything imports altair (the exports do)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "catalog":
            return catalog_command(args)
        if args.command == "evaluate":
            return evaluate_command(args)
        if args.command == "app":
            return app_command(args)
        if args.command == "workshop":
            return workshop_command(args)
        if args.command == "validate":
            return validate_command(args)
        parser.error(f"unknown command {args.command!r}")
    except ScenarioError as err:
        print(f"accel-explorer: error: {one_line(err)}", file=sys.stderr)
        return EXIT_USAGE
    except CatalogError as err:  # one problem: one line; several: a list
        print("\n".join(problem_lines(err, "accel-explorer")), file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `accel-explorer catalog devices | head`
        return EXIT_OK
    except KeyboardInterrupt:  # Ctrl-C: stop quietly, as a shell command does
        print("accel-explorer: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: one line, not a traceback (ACCEL_EXPLORER_DEBUG=1 shows it)
        from .calc import ModelError

        if isinstance(err, ModelError):
            print(
                f"accel-explorer: the catalog cannot be used by the model: {one_line(err)}",
                file=sys.stderr,
            )
            return EXIT_USAGE
        if os.environ.get("ACCEL_EXPLORER_DEBUG"):
            raise
        print(
            f"accel-explorer: internal error ({type(err).__name__}: {shown_value(str(err), 300)}); please "
            "report it, with the command line. Set ACCEL_EXPLORER_DEBUG=1 for the details.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
