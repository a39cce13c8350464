"""The dashboard devhost serves under /devhost/dashboard: pages over the same Management the HTTP API uses."""
