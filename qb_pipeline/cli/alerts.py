"""`qb-pipeline alerts ...`: goal alert subscriptions (every member, their own), webhook
endpoints and the delivery log (admins), through AlertService (docs/alerts.md)."""

from __future__ import annotations

import click

from qb_pipeline.cli.options import Command, one_line_errors

ALERT_AS_HELP = "Act as this user (no password; the user's role is enforced)."


def alert_service():  # noqa: ANN201 -- the type is imported lazily, so `--help` stays fast
    from qb_pipeline.alerts.service import AlertService
    from qb_pipeline.config import load_settings

    return AlertService(load_settings())


def _org_and_actor(func: Command) -> Command:
    func = click.option("--as", "actor", required=True, metavar="EMAIL", help=ALERT_AS_HELP)(func)
    return click.option("--org", "org_slug", required=True, help="Organization slug.")(func)


@click.group()
def alerts() -> None:
    """Goal alerts: subscriptions, webhook endpoints, the delivery log (docs/alerts.md)."""


@alerts.command("subscribe")
@_org_and_actor
@click.option("--goal", "goal_id", default=None, help="A goal id (default: every goal).")
@click.option("--channel", type=click.Choice(["email", "webhook"]), default="email")
@click.option("--endpoint", default=None, help="The webhook endpoint's name (webhook only).")
@one_line_errors
def subscribe(
    org_slug: str, actor: str, goal_id: str | None, channel: str, endpoint: str | None
) -> None:
    """Subscribe yourself to a goal's alerts (or every goal's)."""
    made = alert_service().subscribe(actor, org_slug, goal_id, channel, endpoint)
    what = "every goal" if made.all_goals else f"goal {made.goal_id}"
    click.echo(f"Subscription {made.id}: {what} of {org_slug} by {made.channel}.")


@alerts.command("unsubscribe")
@_org_and_actor
@click.argument("subscription_id", type=int)
@one_line_errors
def unsubscribe(org_slug: str, actor: str, subscription_id: int) -> None:
    """End one of your subscriptions (its id from `alerts list`)."""
    alert_service().unsubscribe(actor, org_slug, subscription_id)
    click.echo(f"Subscription {subscription_id} ended.")


@alerts.command("list")
@_org_and_actor
@one_line_errors
def list_subscriptions(org_slug: str, actor: str) -> None:
    """Your subscriptions in the organization."""
    for s in alert_service().subscriptions(actor, org_slug):
        what = "*" if s.all_goals else s.goal_id
        click.echo(f"{s.id}\t{what}\t{s.channel}\t{s.endpoint_name or ''}")


@alerts.command("endpoint-add")
@_org_and_actor
@click.argument("name")
@click.argument("url")
@one_line_errors
def endpoint_add(org_slug: str, actor: str, name: str, url: str) -> None:
    """Admins: add a webhook endpoint; prints its signing secret, only this once."""
    made = alert_service().add_endpoint(actor, org_slug, name, url)
    click.echo(
        f"Added webhook endpoint {made.endpoint.name} ({made.endpoint.url}). Its signing "
        "secret is shown once; store it now:",
        err=True,
    )
    click.echo(made.secret)


@alerts.command("endpoint-remove")
@_org_and_actor
@click.argument("name")
@one_line_errors
def endpoint_remove(org_slug: str, actor: str, name: str) -> None:
    """Admins: remove a webhook endpoint (and the subscriptions to it)."""
    alert_service().remove_endpoint(actor, org_slug, name)
    click.echo(f"Removed webhook endpoint {name}.")


@alerts.command("endpoints")
@_org_and_actor
@one_line_errors
def endpoints(org_slug: str, actor: str) -> None:
    """The organization's webhook endpoints (never their secrets)."""
    for e in alert_service().endpoints(actor, org_slug):
        click.echo(f"{e.name}\t{e.url}")


@alerts.command("deliveries")
@_org_and_actor
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@one_line_errors
def deliveries(org_slug: str, actor: str, as_json: bool) -> None:
    """Admins: the delivery log, newest first, with every attempt."""
    import json

    log = alert_service().delivery_log(actor, org_slug)
    if as_json:
        data = [{**d.to_dict(), "attempts": [a.to_dict() for a in a_]} for d, a_ in log]
        click.echo(json.dumps(data, indent=2))
        return
    for delivery, attempts in log:
        click.echo(
            f"{delivery.created_at:%Y-%m-%d %H:%M} {delivery.channel} {delivery.recipient}: "
            f"{delivery.status} after {delivery.attempts} attempts"
            + (f" ({delivery.last_error})" if delivery.last_error else "")
        )
        for a in attempts:
            click.echo(f"    #{a.attempt} {a.outcome} {a.code or ''} {a.error or ''}".rstrip())
