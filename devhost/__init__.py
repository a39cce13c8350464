"""A local Durable Functions host for Python v2 apps: `python -m devhost start`.

It loads a function app, drives its orchestrators and entities through the SDK's own
JSON protocol, runs activities and timers, and serves the same HTTP surface as
`func start` with the Durable extension. `devhost.testing` wraps it for tests, and
`devhost.pytest_plugin` gives pytest the `durable_host` fixture.
"""
