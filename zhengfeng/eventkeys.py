"""``zhengfeng keys``: the Ed25519 keys services sign their events with.

``create`` makes a key pair per service (``<key id>.key`` private, ``<key id>.pub``
public) in a directory; give each service its own ``.key`` and every ``.pub`` (see
deploy/README.md). ``create --rotate`` adds a new pair per service: a service signs with its
newest key and every consumer still verifies the old ones, so rotation loses nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from libs.events import kafka, signing

app = typer.Typer(help="Event signing keys (Ed25519).", no_args_is_help=True)


@app.command("create")
def create(
    directory: Annotated[Path, typer.Option("--dir", help="Where to write the key files")],
    services: Annotated[list[str] | None, typer.Argument()] = None,
    rotate: Annotated[bool, typer.Option(help="A new pair even where one exists")] = False,
) -> None:
    """Make a key pair for each service (all four by default) that has none."""
    chosen = services or list(kafka.SERVICES)
    unknown = sorted(set(chosen) - set(kafka.SERVICES))
    if unknown:
        raise typer.BadParameter(f"unknown service(s) {unknown}")
    made = signing.ensure_keys(directory, chosen, rotate=rotate)
    typer.echo(json.dumps({"directory": str(directory), "made": made}))


@app.command("show")
def show(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Default: ZF_EVENT_KEYS_DIR")
    ] = None,
) -> None:
    """The public keys in the directory, JWKS-style (what subscribers verify with)."""
    found, _ = signing.keys_directory(str(directory or ""))
    keyring = signing.Keyring(found)
    keyring.reload()
    typer.echo(json.dumps(keyring.jwks(), indent=2))
