"""The floor for ``cpqctl --help``: a Typer app with one command and nothing else.

    time python bench/minimal_typer.py --help

Importing Typer (and Click, and Rich for the help panels) is a cost cpqctl
cannot avoid; whatever ``cpqctl --help`` takes beyond this app is ours to
remove (SPEC §8: --help must not import the PDF engine, Jinja or pricing).
"""

import typer

app = typer.Typer(add_completion=False, help="Minimal Typer app: the startup-time floor.")


@app.command()
def hello(name: str = typer.Option("world", help="who to greet")) -> None:
    """Print a greeting."""
    typer.echo(f"hello {name}")


if __name__ == "__main__":
    app()
