"""Submitting runs to the Dagster deployment's run queue from outside Dagster (the web app,
the JSON API, the CLI): a goals run after a goal changed, a sync for "Sync now".

Runs go through the Dagster webserver's GraphQL API (`DagsterGraphQLClient`, the public
client Dagster ships), exactly as a launch from the Dagster UI: the instance's run
coordinator queues them, so the queue's limits (at most one run per organization) hold and
the daemon launches them. Nothing is computed in the caller's process and no code location
reloads.

Submission is best effort by design: the change that asks for a run is already committed
with its event (connections/events.py), and the sensors, evaluated by the daemon, request
any run a submission could not (the webserver down, `QBP_DAGSTER_URL=off`). A failed
submission therefore returns why, and is never an error for the person who saved a goal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from qb_pipeline.config import Settings

log = logging.getLogger(__name__)

# The code location as workspace.yaml and `dg` name it, and Dagster's name for the one
# repository a Definitions object makes.
LOCATION_NAME = "qb-pipeline"
REPOSITORY_NAME = "__repository__"
GOALS_JOB = "goals_refresh"
SYNC_JOB = "quickbooks_sync"

PARTITION_TAG = "dagster/partition"
TRIGGER_TAG = "qbp/trigger"
GOAL_EVENT_TAG = "qbp/goal_event"
REQUESTED_BY_TAG = "qbp/requested_by"
# On every sync run: the QuickBooks company it reads. The run queue allows one sync per
# company at a time (dagster.yaml), since organizations connected to one company share its
# rate limits.
REALM_TAG = "qbp/realm"


def realm_tag(realm_id: str | None) -> dict[str, str]:
    """The tag naming a sync's company ({} while the organization has none)."""
    return {REALM_TAG: realm_id} if realm_id else {}


# Seconds a submission may take before the caller stops waiting for it (the sensors follow).
SUBMIT_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Submission:
    """The run a submission created, or why there is none."""

    run_id: str | None
    problem: str | None = None

    @property
    def submitted(self) -> bool:
        return self.run_id is not None


def submit_goals_run(
    settings: Settings, org_slug: str, *, event_id: int, requested_by: str, trigger: str
) -> Submission:
    """Queue a `goals_refresh` run of the organization's partition that covers goal event
    `event_id` (the goal-changes sensor looks for this tag before it asks for another)."""
    tags = {
        PARTITION_TAG: org_slug,
        TRIGGER_TAG: trigger,
        GOAL_EVENT_TAG: str(event_id),
        REQUESTED_BY_TAG: requested_by,
    }
    return _submit(settings, GOALS_JOB, tags)


def submit_sync(
    settings: Settings, org_slug: str, *, requested_by: str, realm_id: str | None
) -> Submission:
    """Queue a `quickbooks_sync` run of the organization's partition ("Sync now") for its
    company `realm_id`."""
    tags = {
        PARTITION_TAG: org_slug,
        TRIGGER_TAG: "sync_now",
        REQUESTED_BY_TAG: requested_by,
        **realm_tag(realm_id),
    }
    return _submit(settings, SYNC_JOB, tags)


def _submit(settings: Settings, job_name: str, tags: dict[str, str]) -> Submission:
    if settings.dagster_url is None:
        return Submission(None, "run submission is off (QBP_DAGSTER_URL=off)")
    # Imported here: the GraphQL client brings requests and gql, which only submitting needs.
    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

    url = urlsplit(settings.dagster_url)
    try:
        client = DagsterGraphQLClient(
            url.hostname or "127.0.0.1",
            port_number=url.port,
            use_https=url.scheme == "https",
            path_prefix=url.path.rstrip("/"),
            timeout=SUBMIT_TIMEOUT_SECONDS,
        )
        run_id = client.submit_job_execution(
            job_name,
            repository_location_name=LOCATION_NAME,
            repository_name=REPOSITORY_NAME,
            tags=tags,
        )
    except (DagsterGraphQLClientError, OSError) as error:
        problem = f"Dagster at {settings.dagster_url} did not take the run ({_short(error)})"
        log.warning("%s run for %s not submitted: %s", job_name, tags[PARTITION_TAG], problem)
        return Submission(None, problem)
    log.info("%s run %s submitted for %s", job_name, run_id, tags[PARTITION_TAG])
    return Submission(run_id)


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:199] + "…"


__all__ = [
    "GOAL_EVENT_TAG",
    "LOCATION_NAME",
    "REALM_TAG",
    "Submission",
    "realm_tag",
    "submit_goals_run",
    "submit_sync",
]
