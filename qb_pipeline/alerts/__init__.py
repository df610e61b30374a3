"""Alerts: a goal's subscribers are told, once per sync, when its status changes or it goes
stale (docs/alerts.md).

    changes.py        what is watched and what counts as a change (data in, data out)
    subscriptions.py  webhook endpoints (admins) and members' subscriptions, checked
    digest.py         one digest per (organization, run): changes found, deliveries planned
    deliveries.py     claiming a delivery, its attempts with backoff, the delivery log
    email.py          the digest as an email, sent over SMTP
    webhooks.py       the digest as a signed JSON POST, and how a receiver verifies it
    service.py        AlertService, the facade the CLI, the web app and the Dagster step use

The control DB holds all of it (migration 0007); nothing here imports Dagster or the web app.
"""
