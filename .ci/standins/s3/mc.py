#!/usr/bin/env python3
"""`mc alias set NAME URL USER PASSWORD` (checks the server answers) and
`mc mb --ignore-existing NAME/BUCKET`, as MinIO's client does them."""

import json
import sys
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

ALIASES = Path("/tmp/mc-aliases.json")


def client(alias: str):  # type: ignore[no-untyped-def]
    url, user, password = json.loads(ALIASES.read_text())[alias]
    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=user,
        aws_secret_access_key=password,
        region_name="us-east-1",
    )


def main(args: list[str]) -> int:
    if args[:2] == ["alias", "set"]:
        name, url, user, password = args[2:6]
        known = json.loads(ALIASES.read_text()) if ALIASES.exists() else {}
        ALIASES.write_text(json.dumps({**known, name: [url, user, password]}))
        client(name).list_buckets()  # fails until the server is up
        return 0
    if args[:1] == ["mb"]:
        alias, bucket = next(a for a in args[1:] if not a.startswith("--")).split("/", 1)
        try:
            client(alias).create_bucket(Bucket=bucket)
        except ClientError as error:
            owned = error.response["Error"]["Code"] in (
                "BucketAlreadyOwnedByYou",
                "BucketAlreadyExists",
            )
            if not (owned and "--ignore-existing" in args):
                raise
        print(f"Bucket created successfully `{alias}/{bucket}`.")
        return 0
    print(f"mc stand-in: not supported: {' '.join(args)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
