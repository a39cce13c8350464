"""Upload sample text blobs for trying `summarize_blobs` locally.

    .venv/bin/python scripts/seed_blobs.py --container docs --count 120

Uses `AzureWebJobsStorage` if set, else Azurite's development account (what
local.settings.json points the app at).
"""

from __future__ import annotations

import argparse
import os

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient

_WORDS = "durable functions replay history activity timer event entity orchestration".split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--container", default="docs")
    parser.add_argument("--prefix", default="notes/")
    parser.add_argument("--count", type=int, default=120)
    options = parser.parse_args()
    connection = os.environ.get("AzureWebJobsStorage", "UseDevelopmentStorage=true")
    with BlobServiceClient.from_connection_string(connection) as service:
        try:
            service.create_container(options.container)
        except ResourceExistsError:
            pass
        container = service.get_container_client(options.container)
        for n in range(options.count):
            lines = [" ".join(_WORDS[(n + i) % len(_WORDS)] for i in range(k + 3)) for k in range(n % 7 + 1)]
            container.upload_blob(f"{options.prefix}{n:04d}.txt", "\n".join(lines) + "\n", overwrite=True)
    print(f"Uploaded {options.count} blobs to '{options.container}/{options.prefix}'.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
