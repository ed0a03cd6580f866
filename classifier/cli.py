"""`ticket-classifier`: predict, train, evaluate (and serve) from the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from pydantic import ValidationError

from classifier.schemas import Ticket

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
PREDICT_BATCH = 256


def _echo_err(message: str) -> None:
    typer.echo(message, err=True)


def parse_ticket_line(line: str) -> Ticket:
    """One input line as a Ticket; ValueError with a readable reason when it is not one."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(raw, dict):
        raise ValueError("a line must hold one JSON object")
    try:
        ticket = Ticket.model_validate(raw)
    except ValidationError as exc:
        reasons = "; ".join(
            f"field '{'.'.join(str(p) for p in err['loc']) or '-'}': {err['msg']}"
            for err in exc.errors()
        )
        raise ValueError(reasons) from None
    if not ticket.subject.strip() and not ticket.body.strip():
        raise ValueError("field 'subject'/'body': both are empty or missing")
    return ticket


@contextmanager
def _open_in(path: str) -> Iterator[IO[str]]:
    if path == "-":
        yield sys.stdin
    else:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            yield handle


@contextmanager
def _open_out(path: str) -> Iterator[IO[str]]:
    if path == "-":
        yield sys.stdout
    else:
        with open(path, "w", encoding="utf-8") as handle:
            yield handle


def _settings():
    """The settings, or a clear error naming the environment variable at fault."""
    from classifier.settings import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        for err in exc.errors():
            name = "CLASSIFIER_" + "_".join(str(p) for p in err["loc"]).upper()
            _echo_err(f"error: {name}: {err['msg']}")
        raise typer.Exit(2) from None


def _load_model():
    from classifier.model import ModelLoadError

    settings = _settings()
    try:
        return settings.load_model()
    except (ModelLoadError, ValueError) as exc:
        _echo_err(f"error: {exc}")
        raise typer.Exit(2) from None


def _count_lines(path: str) -> int | None:
    if path == "-":
        return None
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


@app.command()
def predict(
    input: Annotated[str, typer.Argument(help="JSON Lines of tickets, or - for stdin")],
    output: Annotated[
        str, typer.Option("-o", "--output", help="where to write, - for stdout")
    ] = "-",
) -> None:
    """Predict every ticket of a JSON Lines file: one prediction line per input line, in order."""
    if input != "-" and not Path(input).is_file():
        _echo_err(f"error: {input}: no such file")
        raise typer.Exit(2)
    model = _load_model()
    try:
        bad = _predict_lines(model, input, output)
    except OSError as exc:  # an output that cannot be written, a disk that fills up
        _echo_err(f"error: {exc.filename or output}: {exc.strerror}")
        raise typer.Exit(2) from None
    if bad:
        _echo_err(f"{bad} line(s) could not be predicted (see above); the others were.")
        raise typer.Exit(1)


def _predict_lines(model: Any, input: str, output: str) -> int:
    """Predict input's lines into output; the number of bad lines (each reported)."""
    bad = 0
    total = _count_lines(input)
    show_progress = sys.stderr.isatty() and (total or 0) > PREDICT_BATCH
    with (
        _open_in(input) as source,
        _open_out(output) as sink,
        _progress(show_progress, total) as tick,
    ):
        batch: list[Ticket] = []

        def flush() -> None:
            for prediction in model.predict(batch):
                sink.write(prediction.model_dump_json() + "\n")
            tick(len(batch))
            batch.clear()

        for number, line in enumerate(source, start=1):
            if not line.strip():
                continue
            try:
                batch.append(parse_ticket_line(line))
            except ValueError as exc:
                bad += 1
                _echo_err(f"{input}:{number}: {exc}")
                tick(1)
                continue
            if len(batch) >= PREDICT_BATCH:
                flush()
        if batch:
            flush()
    return bad


@contextmanager
def _progress(enabled: bool, total: int | None) -> Iterator[Any]:
    if not enabled:
        yield lambda n: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("predicting", total=total)
        yield lambda n: progress.advance(task, n)


@app.command()
def train(
    data: Annotated[Path | None, typer.Option(help="labeled corpus (JSON Lines)")] = None,
    config: Annotated[Path | None, typer.Option(help="training config (JSON)")] = None,
    out: Annotated[
        Path | None, typer.Option(help="model folder the champion is written to")
    ] = None,
    corrections: Annotated[
        Path | None, typer.Option(help="corrections export (JSON Lines) to merge")
    ] = None,
    corrections_from_store: Annotated[
        bool, typer.Option(help="merge the corrections of the configured database")
    ] = False,
    mlflow: Annotated[
        bool, typer.Option(help="track the run and register the model in MLflow")
    ] = True,
    ablation: Annotated[bool, typer.Option(help="also fit the model-only variant")] = True,
) -> None:
    """Fit, evaluate, log to MLflow, register, and promote through the gate."""
    from training.pipeline import run_training

    try:
        run_training(
            data=data,
            config_path=config,
            out=out,
            corrections=corrections,
            corrections_from_store=corrections_from_store,
            track=mlflow,
            ablation=ablation,
        )
    except (ValueError, OSError) as exc:  # data and config errors name the line and field
        _echo_err(f"error: {exc}")
        raise typer.Exit(2) from None


@app.command()
def promote(
    version: Annotated[str, typer.Option(help="registered model version")],
    reason: Annotated[str, typer.Option(help="why the gate is overridden (recorded)")],
) -> None:
    """Make a registered version the champion despite the gate (recorded as a tag)."""
    from training import registry

    registry.configure_tracking()
    registry.promote(version, reason)
    typer.echo(f"version {version} is now the champion (override: {reason})")


@app.command()
def export(
    alias: Annotated[str, typer.Option(help="registry alias to export")] = "champion",
    out: Annotated[Path | None, typer.Option(help="model folder to write")] = None,
) -> None:
    """Write the model behind a registry alias to the service's model folder."""
    from training import registry

    registry.configure_tracking()
    target = out or _settings().model_dir
    registry.export(alias, target)
    typer.echo(f"{alias} exported to {target}; POST /v1/admin/reload to serve it")


@app.command()
def evaluate(
    data: Annotated[Path | None, typer.Option(help="labeled corpus (JSON Lines)")] = None,
    model_dir: Annotated[Path | None, typer.Option(help="model folder")] = None,
    ablation: Annotated[bool, typer.Option(help="also score rules only and model only")] = False,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write the report as JSON")
    ] = None,
) -> None:
    """Print the quality figures of a model on the test split."""
    from classifier.model import ModelLoadError
    from training.pipeline import run_evaluation

    _settings()
    try:
        run_evaluation(data=data, model_dir=model_dir, ablation=ablation, json_out=json_out)
    except (ValueError, OSError, ModelLoadError) as exc:
        _echo_err(f"error: {exc}")
        raise typer.Exit(2) from None


@app.command()
def report(
    out: Annotated[
        Path | None, typer.Option(help="folder for accuracy.html and accuracy.json")
    ] = None,
    data: Annotated[Path | None, typer.Option(help="labeled corpus (JSON Lines)")] = None,
    model_dir: Annotated[Path | None, typer.Option(help="model folder")] = None,
    live: Annotated[
        bool, typer.Option(help="include the live part from the configured store")
    ] = True,
    ablation: Annotated[
        bool, typer.Option(help="refit the model-only variant for the ablation")
    ] = False,
) -> None:
    """Write the accuracy report: offline on the test split, live from the corrections.

    By default into the folder the service serves it from (GET /reports)."""
    from classifier.model import ModelLoadError
    from training.pipeline import run_report

    try:
        run_report(out=out, data=data, model_dir=model_dir, live=live, ablation=ablation)
    except (ValueError, OSError, ModelLoadError) as exc:
        _echo_err(f"error: {exc}")
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes")] = 1,
    dev_keys: Annotated[
        bool, typer.Option("--dev-keys", help="development run: create local API keys")
    ] = False,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import os

    import uvicorn

    from classifier.api.app import load_keys
    from classifier.settings import get_settings

    if dev_keys:
        os.environ["CLASSIFIER_DEV"] = "1"
        settings = _settings()
        keys_file = settings.api_keys_file or settings.data_dir / "dev-keys.txt"
        os.environ["CLASSIFIER_API_KEYS_FILE"] = str(keys_file)
        get_settings.cache_clear()
    settings = _settings()
    try:
        load_keys(settings)
    except (RuntimeError, ValueError) as exc:
        _echo_err(f"error: {exc}")
        raise typer.Exit(2) from None
    if settings.api_keys_file:
        typer.echo(f"API keys: {settings.api_keys_file} (one role:key per line)")
    typer.echo(f"store: {settings.store_url.split('@')[-1]}; docs: http://{host}:{port}/docs")
    uvicorn.run(
        "classifier.api:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


@app.command()
def version() -> None:
    """Print the package version."""
    from classifier import __version__

    typer.echo(__version__)


if __name__ == "__main__":
    app()
