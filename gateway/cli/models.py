"""The learned router and the dedupe index: training, re-indexing, evaluation; and the benchmarks."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from gateway.cli.common import build_app


@click.group("router")
def router_group() -> None:
    """The learned router: train it on the city's own past tickets."""


def _profile() -> Any:
    """The city profile the gateway would use (HOTLINE_PROFILE, else the bundled one), without building the app."""
    from gateway.config import BUNDLED_PROFILE, ConfigError
    from gateway.profile import load_profile

    try:
        return load_profile(os.environ.get("HOTLINE_PROFILE") or BUNDLED_PROFILE)
    except (ConfigError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


@router_group.command("train")
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON lines with title, detail, category")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the model to this file instead of the gateway's (HOTLINE_ROUTER_MODEL)")
def router_train(data: Path, out: Path | None) -> None:
    """Train the ticket router (text -> board category) and store it in the data folder (or --out)."""
    from gateway.casework.learned_router import model_path, read_rows
    from gateway.casework.router_model import RouterModelError, train

    if out is None:
        rt = build_app().extensions["hotline"]
        path, profile = model_path(rt), rt.profile
    else:
        path, profile = out, _profile()
    try:
        model = train(list(read_rows(data)))
    except RouterModelError as exc:
        raise click.ClickException(str(exc)) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    model.save(tmp)
    tmp.replace(path)  # workers never read a half-written file
    unmapped = sorted(set(model.labels) - set(profile.router.get("labels", {})))
    click.echo(f"trained on {model.trained_on} tickets, {len(model.labels)} categories -> {path}")
    if unmapped:
        click.echo(f"warning: labels without a [router.labels] entry in the profile: {', '.join(unmapped)}", err=True)
    click.echo(json.dumps({"path": str(path), "trained_on": model.trained_on, "labels": list(model.labels)},
                          ensure_ascii=False))


@router_group.command("split")
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON lines with id, title, detail, category")
@click.option("--holdout", "holdout", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the held-out tickets here (JSON lines)")
@click.option("--rest", "rest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the other tickets here (JSON lines): the only ones to tune and train on")
@click.option("--record", "record", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the held-out ids and digests here (the file kept in the repository)")
@click.option("--check", "check", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="fail unless the split chooses exactly the tickets of this record")
@click.option("--seed", default=None, type=int, help="the split's seed (default: the fixed one)")
def router_split(data: Path, holdout: Path | None, rest: Path | None, record: Path | None, check: Path | None,
                 seed: int | None) -> None:
    """Split labelled tickets into the fixed held-out fifth and the rest (stratified, reposts kept together)."""
    from gateway.casework.learned_router import read_rows
    from gateway.casework.router_model import RouterModelError
    from gateway.casework.router_split import SEED, holdout_lines, holdout_split

    try:
        rows = list(read_rows(data))
    except RouterModelError as exc:
        raise click.ClickException(str(exc)) from None
    split = holdout_split(rows, seed=SEED if seed is None else seed)
    lines = holdout_lines(rows, split)
    for path, part in ((holdout, split.holdout), (rest, split.rest)):
        if path is not None:
            path.write_text("".join(json.dumps(rows[i], ensure_ascii=False) + "\n" for i in part), encoding="utf-8")
    if record is not None:
        record.write_text("# the router's held-out fifth: id<TAB>digest (hotline router split --record)\n"
                          + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    summary = {"tickets": len(rows), "holdout": len(split.holdout), "rest": len(split.rest),
               "duplicate_groups": len(set(split.groups))}
    if check is not None:
        kept = sorted(x for x in check.read_text(encoding="utf-8").splitlines() if x and not x.startswith("#"))
        summary["matches_record"] = kept == lines
    click.echo(json.dumps(summary))
    if check is not None and not summary["matches_record"]:
        raise click.ClickException(f"the split differs from {check}: other data, or another seed")


@click.group("dedupe")
def dedupe_group() -> None:
    """The shared dedupe index."""


@dedupe_group.command("reindex")
@click.option("--full", is_flag=True, help="recompute every case's features from its reports (after the profile's "
                                            "places or [dedupe.topics] changed), not only its index rows")
def dedupe_reindex(full: bool) -> None:
    """Rebuild the dedupe index rows of every case (after an upgrade that changed the key ids)."""
    from gateway.intake.matching import reindex

    app = build_app()
    with app.app_context():
        done = reindex(app.extensions["hotline"], full=full)
    click.echo(f"reindexed {done} cases" + (" (features recomputed)" if full else ""))


@dedupe_group.command("calibrate")
@click.option("--show-pairs", is_flag=True, help="list every labelled pair with its score now")
def dedupe_calibrate(show_pairs: bool) -> None:
    """Score the office's decisions (accepted and rejected proposals, merges, undos, splits) with the current
    matcher; show what the profile's auto and grey thresholds do with them and propose new ones (not applied)."""
    from gateway.casework.calibration import calibrate

    app = build_app()
    with app.app_context():
        result = calibrate(app.extensions["hotline"])
    click.echo(f"{result['pairs']} labelled pairs from the office ({result['same']} the same matter, "
               f"{result['different']} kept apart)" + "".join(f"; {k}: {v['same'] + v['different']}"
                                                          for k, v in result["sources"].items()))
    for name in ("current", "proposed"):
        t = result[name]
        same, different = t["same"], t["different"]
        click.echo(f"{name:<9} auto {t['auto']:.2f} grey {t['grey']:.2f}: same pairs {same['attached']} attached, "
                   f"{same['proposed']} proposed, {same['missed']} missed; pairs kept apart "
                   f"{different['attached_wrongly']} attached wrongly, {different['proposed']} proposed, "
                   f"{different['kept_apart']} kept apart")
    for reason in result["proposed"]["why"]:
        click.echo(f"  {reason}")
    click.echo("nothing is changed: to use the proposal, set auto and grey in the profile's [dedupe] table")
    for title, rows in (("attached wrongly now", result["attached_wrongly"]), ("missed now", result["missed"]),
                        ("pairs", result["pair_scores"] if show_pairs else [])):
        for row in rows:
            click.echo(f"{title}: report {row['report']} / {row['other_report']} ({row['source']} by {row['by']}) "
                       f"score {row['score']:.3f} {row['rule'] or '(no rule)'}")
    click.echo(json.dumps({k: v for k, v in result.items() if k != "pair_scores" or show_pairs}, ensure_ascii=False))


@click.group("eval")
def eval_group() -> None:
    """Measure the gateway's models on labelled data."""


@eval_group.command("router")
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON lines with title, detail, category")
@click.option("--model", "model_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="score this trained model on the data (without it: cross-validate a new model on the data)")
@click.option("--threshold", type=float, default=None,
              help="the confidence below which a ticket goes to triage (default: the profile's [router] threshold)")
@click.option("--folds", default=5, show_default=True, help="cross-validation folds (without --model)")
@click.option("--seed", default=0, show_default=True, help="cross-validation seed (without --model)")
def eval_router(data: Path, model_file: Path | None, threshold: float | None, folds: int, seed: int) -> None:
    """Score a trained router on labelled tickets (--model), or cross-validate one; the last line is JSON.

    With --model: per-category precision, recall and F1, the confusion matrix, the triage rate at the
    threshold and the accuracy of what is not sent to triage, accuracy and macro-F1.
    """
    import time

    from gateway.casework.learned_router import evaluation_lines, labelled_rows, read_rows, score_lines
    from gateway.casework.router_model import RouterModel, RouterModelError, evaluate, score
    from gateway.casework.routing import model_threshold

    started = time.perf_counter()
    try:
        if model_file is None:
            result = evaluate(list(read_rows(data)), folds=folds, seed=seed)
            click.echo("\n".join(evaluation_lines(result, time.perf_counter() - started)))
            return
        model = RouterModel.load(model_file)
        rows = labelled_rows(data, model.labels)
        cut = model_threshold(_profile()) if threshold is None else threshold
        click.echo("\n".join(score_lines(score(model, rows, cut), model_file, data)))
    except RouterModelError as exc:
        raise click.ClickException(str(exc)) from None


@eval_group.command(name="dedupe")
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False),
              help="JSONL: id, group, kind, time, channel, title, text, phone, email, user, address")
@click.option("--auto", type=float, default=None, help="override the profile's automatic-merge threshold")
@click.option("--grey", type=float, default=None, help="override the profile's proposal threshold")
@click.option("--assignments", "assignments", type=click.Path(dir_okay=False, writable=True), default=None,
              help="write one JSON line per input id: its final case number, the rule and the score that put it there")
def eval_dedupe(data: str, auto: float | None, grey: float | None, assignments: str | None) -> None:
    """Replay labelled reports through the real intake path; print merge precision/recall, B-cubed, hard negatives."""
    import os

    from gateway.cli.evaluation import EvalDataError, read_items
    from gateway.cli.evaluation import evaluate as run_eval

    try:
        with open(data, encoding="utf-8") as handle:
            items = read_items(handle)
    except (EvalDataError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{data}: {exc}") from None
    overrides = {k: v for k, v in (("auto", auto), ("grey", grey)) if v is not None}
    result = run_eval(items, redis_url=os.environ.get("REDIS_URL") or None, overrides=overrides or None)
    lines = result.pop("assignments")
    if assignments:
        with open(assignments, "w", encoding="utf-8") as out:
            out.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    pw, b3, neg = result["pairwise"], result["bcubed"], result["hard_negatives"]
    click.echo(f"{result['reports']} reports, {result['groups']} matters -> {result['cases']} cases; "
               f"{result['proposals']} proposals left for the office")
    click.echo(f"merged pairs  P {pw['precision']:.3f}  R {pw['recall']:.3f}  F1 {pw['f1']:.3f}")
    click.echo(f"B-cubed       P {b3['precision']:.3f}  R {b3['recall']:.3f}  F1 {b3['f1']:.3f}")
    click.echo(f"hard negatives joined to another matter: {neg['joined']} of {neg['reports']} "
               f"({neg['proposed']} proposed to the office)" + (f": {' '.join(neg['joined_ids'])}" if neg["joined"] else ""))
    for kind, f in result["kinds"].items():
        click.echo(f"  {kind:<22} {f['reports']:>4} reports: {f['with_own_matter']:>4} with their own matter, "
                   f"{f['joined_other']:>3} with another, {f['proposed']:>3} proposed, {f['alone']:>3} alone")
    click.echo(json.dumps(result, ensure_ascii=False))


@eval_group.command(name="appeal")
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the posts: the board's CSV (留言编号, 留言主题, 留言详情) or JSON lines (id, title, detail)")
@click.option("--labels", "labels", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV source_file,row_id,label (rows whose source_file is the data file's name)")
@click.option("--show-wrong", is_flag=True, help="list the ids the guess got wrong (for reading them in the data)")
def eval_appeal(data: Path, labels: Path, show_wrong: bool) -> None:
    """Score the appeal-type guess on labelled posts: per-type P/R/F1, accuracy, macro-F1, 咨询, confusion."""
    from adapters.appeal import infer
    from gateway.cli.appeal_eval import AppealEvalError, evaluate, read_labels, read_posts, report_lines
    from gateway.config import BUNDLED_PROFILE
    from gateway.profile import load_profile

    # the aliases the running gateway passes (谏言 = 建议): the city's profile when one is set, else the bundled one
    aliases = load_profile(os.environ.get("HOTLINE_PROFILE") or BUNDLED_PROFILE).appeal_aliases
    try:
        result = evaluate(read_posts(data), read_labels(labels, data.name), lambda t, x: infer(t, x, aliases))
    except (AppealEvalError, UnicodeDecodeError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    if show_wrong:
        click.echo("wrong: " + " ".join(result["wrong"]))
    click.echo("\n".join(report_lines(result, data.name)))


BENCHMARKS = ("intake", "dispatch", "supervision", "dedupe_scale", "dedupe_cpu", "console", "operator_hint", "knowledge",
              "ledger", "search_index", "chaos")


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True}, add_help_option=False)
@click.argument("name", type=click.Choice(BENCHMARKS))
@click.argument("options", nargs=-1, type=click.UNPROCESSED)
def bench(name: str, options: tuple[str, ...]) -> None:
    """Run a benchmark from a checkout: `hotline bench intake --quick` is `python -m bench.intake --quick`."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    if not (root / "bench" / f"{name}.py").is_file():
        raise click.ClickException(f"bench/{name}.py not found: benchmarks run from a source checkout ({root})")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    raise SystemExit(subprocess.call([sys.executable, "-m", f"bench.{name}", *options], cwd=str(root), env=env))
