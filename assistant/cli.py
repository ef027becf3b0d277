"""The `assistant` command: run the demo, serve the app, train Rasa, install the model, search."""

from __future__ import annotations

import signal
import time

import typer

from assistant.cli_kb import kb_app
from assistant.config import Settings, load_settings

app = typer.Typer(
    help="siyu-assistant: AI shopping assistant for private-domain group chats.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(kb_app, name="kb")


@app.command()
def serve(port: int = typer.Option(None, help="Port (default from assistant.yml).")) -> None:
    """Run the assistant app: web group chat, action endpoint, knowledge API."""
    from aiohttp import web

    from assistant.app import create_app
    from assistant.bootstrap import build_services
    from assistant.connectors.registry import ConnectorConfigError
    from assistant.logs import configure_logging

    configure_logging()
    settings = load_settings(**({"port": port} if port else {}))
    services = build_services(settings)
    try:
        application = create_app(settings, services)
    except ConnectorConfigError as problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2) from None
    web.run_app(
        application,
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,
    )


@app.command()
def train(
    force: bool = typer.Option(False, help="Train even if the inputs did not change."),
) -> None:
    """Train the Rasa model if its inputs (config, domain, data) changed."""
    from assistant.training import ensure_trained

    typer.echo(ensure_trained(force=force))


@app.command("install-model")
def install_model() -> None:
    """Convert the offline default embedding model (multilingual-e5-small) if not done yet."""
    from assistant.knowledge.embedding import ensure_default_model

    typer.echo(ensure_default_model())


@app.command()
def demo(rasa_port: int = typer.Option(5005, help="Port of the Rasa server.")) -> None:
    """Start Rasa and the app, print the web group chat's address, stop both on Ctrl-C."""
    from assistant.admin.auth import local_token
    from assistant.knowledge.embedding import ensure_default_model
    from assistant.launcher import StartupFailed, start_stack
    from assistant.training import ensure_trained

    settings = load_settings()
    ensure_default_model()
    model = ensure_trained()
    typer.echo(f"starting Rasa (model {model.name}) and the assistant app ...")
    started = time.monotonic()
    try:
        stack = start_stack(settings, model, rasa_port=rasa_port)
    except StartupFailed as failure:
        typer.echo(f"could not start: {failure}", err=True)
        raise typer.Exit(1) from failure
    typer.echo(f"ready in {time.monotonic() - started:.0f} s")
    typer.echo(f"  web group chat:   http://localhost:{settings.port}/")
    typer.echo(f"  staff console:    http://localhost:{settings.port}/console")
    typer.echo(f"    editor token:   {local_token(settings)}")
    typer.echo(f"  Rasa (API on):    http://localhost:{rasa_port}/")
    typer.echo(f"  logs:             {stack.app_log.parent}")
    _print_demo_orders(settings)
    typer.echo("press Ctrl-C to stop")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while stack.rasa.poll() is None and stack.app.poll() is None:
            time.sleep(0.5)
        typer.echo(
            f"a process stopped unexpectedly; see the logs in {stack.app_log.parent}", err=True
        )
    except KeyboardInterrupt:
        pass
    finally:
        typer.echo("stopping ...")
        stack.stop()


def _print_demo_orders(settings: Settings) -> None:
    """A few seeded orders with their phone digits, so order tracking can be tried at once."""
    from assistant.commerce.sql import SqlCommerce

    store = SqlCommerce(settings.commerce_url)
    try:
        typer.echo("  demo orders to try (order number / last 4 phone digits):")
        for status in ("shipped", "delivered"):
            for order_id in store.order_ids(status=status, limit=2):
                order = store.get_order(order_id)
                if order is not None:
                    typer.echo(f"    {order_id} / {order.phone[-4:]}  ({status})")
    finally:
        store.close()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
