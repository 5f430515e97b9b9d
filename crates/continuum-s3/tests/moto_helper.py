"""boto3 beside the Rust tests (crates/continuum-s3/tests/s3.rs): sets up
moto's IAM and reads buckets independently of the code under test.

Run with the moto venv's python (scripts/ci/setup-moto.sh). Every command
prints one JSON document on stdout.

  bootstrap ENDPOINT SPEC_JSON
      moto runs with INITIAL_NO_AUTH_ACTION_COUNT=0 (every request is
      signed and checked against IAM). Opens exactly three unauthenticated
      actions through /moto-api/reset-auth to create the admin user, its
      policy and its keys; everything after is signed with the admin keys.
      SPEC_JSON: {"roles": {"<role name>": ["<resource ARN>", ...]}}; each
      role gets s3:* on its resources only and a trust policy allowing the
      admin to assume it (and tag the session).
      Prints {"access_key_id", "secret_access_key", "roles": {name: arn}}.

  dump ENDPOINT BUCKET       (admin keys in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)
      Every version and delete marker, each version's body (base64) and
      user metadata.

  settings ENDPOINT BUCKET   (admin keys in the environment)
      Versioning, default encryption, object lock and lifecycle as S3 reports them.
"""

import base64
import json
import sys
import urllib.request

import boto3
from botocore.exceptions import ClientError

REGION = "us-east-1"
ACCOUNT = "123456789012"


def client(service, endpoint, keys=None):
    kwargs = {"endpoint_url": endpoint, "region_name": REGION}
    if keys:
        kwargs["aws_access_key_id"] = keys[0]
        kwargs["aws_secret_access_key"] = keys[1]
    return boto3.client(service, **kwargs)


def bootstrap(endpoint, spec):
    # Exactly the three actions below run unauthenticated; moto checks every
    # request after them.
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=b"3",
        method="POST",
        # Not a form: moto reads the raw body.
        headers={"Content-Type": "text/plain"},
    )
    urllib.request.urlopen(request).read()
    bare = client("iam", endpoint, ("bootstrap", "bootstrap"))
    bare.create_user(UserName="admin")
    bare.put_user_policy(
        UserName="admin",
        PolicyName="admin",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    key = bare.create_access_key(UserName="admin")["AccessKey"]
    keys = (key["AccessKeyId"], key["SecretAccessKey"])

    iam = client("iam", endpoint, keys)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/admin"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }
    roles = {}
    for name, resources in spec["roles"].items():
        arn = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            MaxSessionDuration=43200,
        )["Role"]["Arn"]
        iam.put_role_policy(
            RoleName=name,
            PolicyName="own-bucket-only",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "s3:*", "Resource": resources}
                    ],
                }
            ),
        )
        roles[name] = arn
    return {"access_key_id": keys[0], "secret_access_key": keys[1], "roles": roles}


def dump(endpoint, bucket):
    s3 = client("s3", endpoint)
    found = s3.list_object_versions(Bucket=bucket)
    versions = []
    for version in found.get("Versions", []):
        obj = s3.get_object(
            Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"]
        )
        versions.append(
            {
                "key": version["Key"],
                "version_id": version["VersionId"],
                "latest": version["IsLatest"],
                "metadata": obj.get("Metadata", {}),
                "encryption": obj.get("ServerSideEncryption"),
                "body": base64.b64encode(obj["Body"].read()).decode(),
            }
        )
    markers = [
        {"key": m["Key"], "version_id": m["VersionId"]}
        for m in found.get("DeleteMarkers", [])
    ]
    return {"versions": versions, "delete_markers": markers}


def settings(endpoint, bucket):
    s3 = client("s3", endpoint)

    def read(call, field):
        try:
            return call(Bucket=bucket).get(field)
        except ClientError as err:
            return {"error": err.response["Error"]["Code"]}

    return {
        "versioning": s3.get_bucket_versioning(Bucket=bucket).get("Status"),
        "encryption": read(s3.get_bucket_encryption, "ServerSideEncryptionConfiguration"),
        "object_lock": read(s3.get_object_lock_configuration, "ObjectLockConfiguration"),
        "lifecycle": read(s3.get_bucket_lifecycle_configuration, "Rules"),
    }


def main():
    command, endpoint = sys.argv[1], sys.argv[2]
    if command == "bootstrap":
        result = bootstrap(endpoint, json.loads(sys.argv[3]))
    elif command == "dump":
        result = dump(endpoint, sys.argv[3])
    elif command == "settings":
        result = settings(endpoint, sys.argv[3])
    else:
        raise SystemExit(f"unknown command {command}")
    json.dump(result, sys.stdout, default=str)


if __name__ == "__main__":
    main()
