"""The ``yibao`` command. Each capability package contributes its own sub-command group.

Sub-commands are registered lazily from the list below, so that a package's command appears as
soon as the package exists and the root command stays fast to start.
"""

from __future__ import annotations

import importlib
import importlib.util

import typer

app = typer.Typer(
    name="yibao",
    help=(
        "yibao (医保): one-stop settlement, the national interface, DRG/DIP payment, fund "
        "supervision and fund operations for a medical security bureau.\n\n"
        "Example: yibao scenario run tests/scenarios/*.yaml"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)

# (command name, module, attribute holding a typer.Typer or a plain function)
SUBCOMMANDS: list[tuple[str, str, str]] = [
    ("settle", "yibao.settlement.cli", "settle_command"),
    ("scenario", "yibao.scenario.cli", "app"),
    ("policy", "yibao.policy.cli", "app"),
    ("db", "yibao.storage.cli", "app"),
    ("synth", "yibao.synth.cli", "app"),
    ("drg", "yibao.grouping.drg_cli", "app"),
    ("dip", "yibao.grouping.dip_cli", "app"),
    ("audit", "yibao.audit.cli", "app"),
    ("fund", "yibao.fund.cli", "app"),
    ("serve", "yibao.interface.cli", "serve_command"),
    ("demo", "yibao.demo", "demo_command"),
]


def _register() -> None:
    for name, module_name, attr in SUBCOMMANDS:
        if importlib.util.find_spec(module_name.rsplit(".", 1)[0]) is None:
            continue
        try:
            if importlib.util.find_spec(module_name) is None:
                continue
        except ModuleNotFoundError:
            continue
        module = importlib.import_module(module_name)
        target = getattr(module, attr)
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=name)
        else:
            app.command(name=name)(target)


@app.callback()
def _root() -> None:
    """yibao (医保): the platform a medical security bureau runs its insurance on."""


@app.command()
def version() -> None:
    """Print the yibao version.  Example: yibao version"""
    from importlib.metadata import version as _v

    typer.echo(f"yibao {_v('yibao')}")


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
