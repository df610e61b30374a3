"""The scripted consent driver lives in the package (the demo uses it too)."""

from qb_pipeline.sandbox.testing.consent import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    browser_traffic_unlogged,
    callback_params,
    companies_on,
    consent,
)

__all__ = [
    "DEMO_EMAIL",
    "DEMO_PASSWORD",
    "browser_traffic_unlogged",
    "callback_params",
    "companies_on",
    "consent",
]
