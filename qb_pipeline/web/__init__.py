"""The web app: sign-in and the Integrations area (Starlette, server-rendered)."""
