"""The alert step: after a run has published its goal values, tell the subscribers of every
goal whose status changed or that went stale (or fresh again), once (qb_pipeline/alerts).

An asset of group `alerts`, partitioned by organization, downstream of the serving copy: it
runs in `quickbooks_sync` and in `goals_refresh` (the run a disconnect starts, which is when
goals go stale), reads what the app and BI read, and its digest is keyed by the run id. It
never fails the run: the sync's data is published and its sync log closed before it starts,
and anything that goes wrong here is a warning and the delivery log's business
(docs/decisions.md, "Alerts are sent by an asset after the serving copy").
"""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from qb_pipeline.alerts.service import AlertService
from qb_pipeline.defs.keys import ALERTS_GROUP, GOAL_ALERTS, SERVING_WAREHOUSE
from qb_pipeline.defs.partitions import organizations
from qb_pipeline.defs.resources import QuickBooksIntegration


@asset(
    key=GOAL_ALERTS,
    group_name=ALERTS_GROUP,
    deps=[SERVING_WAREHOUSE],
    partitions_def=organizations,
    kinds={"email", "webhook"},
    description=(
        "The organization's goal alerts for this run: the goals whose status changed or that "
        "went stale in the published values, sent once to their subscribers (one email per "
        "member, one signed POST per webhook endpoint). Never fails the run; every attempt "
        "is in the delivery log (qb-pipeline alerts deliveries)."
    ),
)
def goal_alerts(
    context: AssetExecutionContext, quickbooks: QuickBooksIntegration
) -> MaterializeResult:
    org = context.partition_key
    try:
        outcome = AlertService(quickbooks.settings()).alert_published(org, context.run.run_id)
    except Exception as error:  # alerts must never fail the sync they follow
        context.log.warning(f"alerts of {org} not sent: {type(error).__name__}: {error}")
        return MaterializeResult(metadata={"alerts/error": MetadataValue.text(str(error)[:500])})
    if outcome.note:
        context.log.info(f"alerts of {org}: {outcome.note}")
    else:
        context.log.info(
            f"alerts of {org}: {len(outcome.changes)} changes, {outcome.sent} deliveries sent, "
            f"{outcome.failed} failed"
        )
    if outcome.failed:
        context.log.warning(
            f"{outcome.failed} alert deliveries of {org} failed; see qb-pipeline alerts "
            f"deliveries --org {org}"
        )
    return MaterializeResult(
        metadata={
            "alerts/changes": MetadataValue.int(len(outcome.changes)),
            "alerts/goals_changed": MetadataValue.json(
                sorted({c.goal_id for c in outcome.changes})
            ),
            "alerts/deliveries_planned": MetadataValue.int(outcome.planned),
            "alerts/sent": MetadataValue.int(outcome.sent),
            "alerts/failed": MetadataValue.int(outcome.failed),
        }
    )


alert_assets = [goal_alerts]
