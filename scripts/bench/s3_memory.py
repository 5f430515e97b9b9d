#!/usr/bin/env python3
"""s3_memory.py — memory writes through the daemon on S3 storage, against
boto3 writing the same objects to the same moto server, in one run.

    python3 scripts/bench/s3_memory.py          (from any directory)

Needs boto3 and moto: it runs `scripts/ci/setup-moto.sh` (warm: under a
second) and re-executes itself with that venv's python (pinned boto3),
unless it is already running on it.

What it does:
  1. builds the release binaries (`cargo build --release --locked -p
     continuum-daemon -p continuum-cli`), starts `moto_server` on a free
     loopback port with IAM enforced from the first request
     (INITIAL_NO_AUTH_ACTION_COUNT=0), bootstraps it with
     crates/continuum-s3/tests/moto_helper.py (an admin user, one role per
     data class whose policy allows its own bucket only; as
     `continuum_s3::testing::Moto::with_class_roles`) and creates the three
     buckets as admin with the settings of crates/continuum-s3/src/buckets.rs
     (versioning and SSE-S3 for all; a 30-day expiry of replaced versions for
     vault and memory; object lock COMPLIANCE, 365 days, for audit);
  2. writes storage.toml (`storage = "s3"` and its `[s3]` table) and a
     providers.toml (a provider that is never called, needed to create a
     persona) into a temp CONTINUUM_HOME, starts the release daemon with
     `cu start` whose base identity is moto's admin (AWS_ACCESS_KEY_ID and
     AWS_SECRET_ACCESS_KEY in the environment, IMDS off), creates persona
     `bench`;
  3. measures, after a warm-up, N sequential `memory/remember` calls
     (persona `bench`, ~200-character text) over one persistent Unix-socket
     JSON-RPC connection, interleaved in blocks with as many boto3
     `put_object` calls writing the same objects: the same JSON body
     (id, personaId, text, tags, createdAtMs), `application/json`,
     `If-None-Match: *`, key `boto3/persona/<persona id>/<id>` in the same
     memory bucket (the daemon writes `persona/<persona id>/<id>`), signed
     with credentials from AssumeRole on the memory class role (session
     name, tags and session policy as the daemon sends them). Both pay SigV4
     (and a CRC32 checksum) and HTTP/1.1 keep-alive requests to the same
     moto. boto3 runs twice over, as two clients with their own connections:
       - `boto3`: as it comes. botocore sends every PUT with a body with
         `Expect: 100-continue`, so it waits for moto's `100 Continue`
         before sending the body;
       - `boto3_one_exchange`: the same without that (unsigned) header, so
         headers and body go at once, as the daemon's AWS SDK for Rust
         sends them (it sends no `Expect`).
     The path that goes first rotates per block. Every call is timed from
     before its request is serialized to after its answer is parsed; for
     boto3 the HTTP exchange alone (botocore's urllib3 send and read) is
     timed too.
  4. prints p50/p90/p99 of every path and the ratio of the p50s; stops the
     daemon and moto.

What the daemon adds on top of the PUT: the JSON-RPC hop, the gate and
its audit record (an allowed call: queued and rolled up, not a durable
commit), the persona lookup, the STS-cached credential lookup for the
persona's wallet, and the in-process recall index update after S3 accepts
the write. The shipper also sends audit segments to the audit bucket every
10 s (the default), on the same moto.

Tunables (environment): S3_BENCH_ITERS (measured calls per path, 500),
S3_BENCH_WARMUP (unmeasured calls per path first, 50), S3_BENCH_BLOCK
(calls per block, 50), S3_BENCH_SEED (1), S3_BENCH_JSON (also write every
figure and the raw samples as one JSON object to this file), S3_BENCH_BIN
(a directory holding `cu` and `continuum-core`: use those and skip the
build), S3_BENCH_KEEP=1 (keep the temp home and print where). Honors
CARGO_TARGET_DIR. Exit status 0 when the run completes.
"""
import itertools
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from figures import fmt_us as _fmt_us, percentile, summary  # scripts/bench/figures.py
from rpc import Client, RpcError  # scripts/bench/rpc.py

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
HELPER = os.path.join(ROOT, "crates", "continuum-s3", "tests", "moto_helper.py")
ITERS = int(os.environ.get("S3_BENCH_ITERS", "500"))
WARMUP = max(1, int(os.environ.get("S3_BENCH_WARMUP", "50")))
BLOCK = max(1, int(os.environ.get("S3_BENCH_BLOCK", "50")))
SEED = int(os.environ.get("S3_BENCH_SEED", "1"))
REGION = "us-east-1"
CLASSES = ("vault", "memory", "audit")
BUCKETS = {"vault": "cu-vault", "memory": "cu-memory", "audit": "cu-audit"}
REFERENCE_PREFIX = "boto3/"
TEXT_CHARS = 200


def log(message):
    print(f"[s3-bench] {message}", file=sys.stderr, flush=True)


# --- the moto venv ---------------------------------------------------------------

def moto_python():
    """The moto venv's python (scripts/ci/setup-moto.sh prints only that)."""
    out = subprocess.run(["bash", os.path.join(ROOT, "scripts", "ci", "setup-moto.sh")],
                         check=True, stdout=subprocess.PIPE, text=True)
    return out.stdout.strip().splitlines()[-1]


def ensure_venv():
    """The moto venv's python. Re-executes this script with it unless it is
    already the one running: boto3 is then the venv's pinned version (a
    python without boto3, or with another version, is never used)."""
    python = moto_python()
    venv = os.path.dirname(os.path.dirname(python))
    if os.path.realpath(sys.prefix) != os.path.realpath(venv):
        if os.environ.get("S3_BENCH_REEXEC") == "1":
            raise SystemExit(f"re-executed with {python}, but sys.prefix is {sys.prefix}")
        os.environ["S3_BENCH_REEXEC"] = "1"
        os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])
    return python


# --- texts ------------------------------------------------------------------------

WORDS = """the of and to in is that it for was on with as at by from or had not
but what all were when can said there use each which she how their if will up
other about out many then them these some her would make like him into has look
more see way could than been who now find long down did get come made may part
over new after also just any very through back much before tell why ask went
well only little work where know still should every near under last never while
time year people day woman child world life hand place case week company system
question number night point home water room mother area money story fact month
book eye job word business side kind head house service friend father power hour
game line member city community name team minute idea body information parent
face level office door health person history party result change morning reason
research teacher force education policy music market plan interest experience
lighthouse keeper garden kitchen river mountain bridge island forest village
beach lake ocean train ticket holiday birthday dinner lunch coffee recipe letter
meeting deadline budget invoice contract client neighbor cousin sister brother
dog cat horse bird flower rain snow summer winter spring autumn weekend hospital
school library museum restaurant hotel airport station park shop bank theater
concert wedding journey camera guitar piano painting novel lesson score prize
gift key lamp chair desk clock watch ring shirt coat umbrella blanket bottle cup
engine wheel battery screen keyboard printer server password account website
release version backup database file folder document remember prefers likes
visited bought planned forgot promised borrowed finished started called asked
quiet warm busy tired careful clever cheap fresh heavy bright friendly funny
gentle lucky polite proud strange sudden tall wise golden silver wooden broken
alice bob carol dave erin frank grace heidi ivan judy karl laura nina oscar
lisbon vienna prague oslo dublin tokyo seoul delhi cairo lima toronto boston""".split()


def texts(rng, count):
    """`count` sentences of about TEXT_CHARS characters."""
    out = []
    for _ in range(count):
        words = []
        while len(" ".join(words)) < TEXT_CHARS - 10:
            words.append(rng.choice(WORDS))
        out.append(" ".join(words).capitalize() + ".")
    return out


# --- figures ------------------------------------------------------------------------

def fmt_us(us):
    return _fmt_us(us, 0)


# --- moto ---------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(python):
    """moto_server on a free loopback port, IAM enforced from the first
    request; (process, endpoint)."""
    server = os.path.join(os.path.dirname(python), "moto_server")
    for _ in range(3):
        port = free_port()
        child = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)],
                                 env=dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="0"),
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and child.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return child, f"http://127.0.0.1:{port}"
            except OSError:
                time.sleep(0.05)
        child.kill()
        child.wait()
    raise SystemExit("moto_server did not start on a free port")


def bootstrap(python, endpoint):
    """Admin keys and one role per class on its own bucket (moto_helper.py)."""
    spec = {"roles": {f"continuum-{c}": [f"arn:aws:s3:::{BUCKETS[c]}", f"arn:aws:s3:::{BUCKETS[c]}/*"]
                      for c in CLASSES}}
    out = subprocess.run([python, HELPER, "bootstrap", endpoint, json.dumps(spec)],
                         check=True, stdout=subprocess.PIPE, text=True)
    boot = json.loads(out.stdout)
    return (boot["access_key_id"], boot["secret_access_key"]), boot["roles"]


def provision(s3):
    """The buckets as crates/continuum-s3/src/buckets.rs specifies them."""
    for cls in CLASSES:
        bucket = BUCKETS[cls]
        if cls == "audit":
            s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        else:
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        if cls == "audit":
            s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 365}}})
        else:
            s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
                "ID": "expire-replaced-versions", "Status": "Enabled", "Filter": {"Prefix": ""},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]})


def storage_toml(endpoint, roles):
    lines = ['storage = "s3"', "", "[s3]", f'endpoint = "{endpoint}"', f'region = "{REGION}"',
             "force_path_style = true", "session_duration_secs = 3600", "refresh_before_secs = 300"]
    for cls in CLASSES:
        lines += ["", f"[s3.{cls}]", f'bucket = "{BUCKETS[cls]}"', f'role_arn = "{roles[f"continuum-{cls}"]}"']
    return "\n".join(lines) + "\n"


def memory_role_credentials(boto3, endpoint, admin, role_arn, wallet):
    """AssumeRole on the memory class role for `wallet`: session name, tags
    and session policy as the daemon's broker sends them
    (crates/continuum-s3/src/policy.rs)."""
    sts = boto3.client("sts", endpoint_url=endpoint, region_name=REGION,
                       aws_access_key_id=admin[0], aws_secret_access_key=admin[1])
    bucket = BUCKETS["memory"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "OwnPrefixObjects", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": f"arn:aws:s3:::{bucket}/{wallet}/*"},
        {"Sid": "ListOwnPrefix", "Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": f"arn:aws:s3:::{bucket}",
         "Condition": {"StringLike": {"s3:prefix": [f"{wallet}/*"]}}}]}
    name = "".join(c if c.isalnum() or c in "+=,.@_-" else "-" for c in f"cu-memory-{wallet}")[:64]
    return sts.assume_role(RoleArn=role_arn, RoleSessionName=name, DurationSeconds=3600,
                           Policy=json.dumps(policy, separators=(",", ":")),
                           Tags=[{"Key": "class", "Value": "memory"}, {"Key": "wallet", "Value": wallet}],
                           )["Credentials"]


def s3_client(boto3, config, endpoint, creds, expect_continue):
    """An S3 client (its own connection pool) signed with `creds`. Without
    `expect_continue`, the `Expect: 100-continue` header botocore puts on
    every PUT with a body is dropped (it is not signed), so the request is
    one HTTP exchange, as the daemon's SDK sends it."""
    client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, config=config,
                          aws_access_key_id=creds["AccessKeyId"],
                          aws_secret_access_key=creds["SecretAccessKey"],
                          aws_session_token=creds["SessionToken"])
    if not expect_continue:
        def drop_expect(request, **_):
            request.headers.pop("Expect", None)
        client.meta.events.register("before-send.s3.PutObject", drop_expect)
    return client


def binaries():
    given = os.environ.get("S3_BENCH_BIN")
    if given:
        return os.path.join(given, "cu"), os.path.join(given, "continuum-core")
    log("building release binaries")
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet", "--manifest-path",
                    os.path.join(ROOT, "Cargo.toml"), "-p", "continuum-daemon", "-p", "continuum-cli"],
                   check=True)
    target = os.path.realpath(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "cu"), os.path.join(target, "release", "continuum-core")


def new_id(counter=itertools.count()):
    """An id shaped like continuum_store::new_id: 12 hex digits of Unix ms,
    6 of a counter, 8 random."""
    return f"{int(time.time() * 1000):012x}{next(counter) & 0xffffff:06x}{random.getrandbits(32):08x}"


def main():
    python = ensure_venv()
    import boto3
    from botocore.config import Config

    cu, core = binaries()
    work = tempfile.mkdtemp(prefix="cus3.", dir="/tmp")  # short: socket paths are limited to 108 bytes
    home = os.path.join(work, "h")
    os.makedirs(home, mode=0o700)
    moto, endpoint = start_moto(python)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    daemon_started = False
    try:
        admin, roles = bootstrap(python, endpoint)
        config = Config(s3={"addressing_style": "path"})
        admin_s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, config=config,
                                aws_access_key_id=admin[0], aws_secret_access_key=admin[1])
        provision(admin_s3)
        log(f"moto {endpoint}: IAM enforced, roles {', '.join(sorted(roles))}, buckets provisioned; "
            f"boto3 {boto3.__version__} on {sys.executable}")

        with open(os.path.join(home, "storage.toml"), "w") as f:
            f.write(storage_toml(endpoint, roles))
        with open(os.path.join(home, "providers.toml"), "w") as f:
            # Needed to create a persona; never called.
            f.write('[providers.local]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n')
        env.update(CONTINUUM_HOME=home, CONTINUUM_CORE_BIN=core, AWS_ACCESS_KEY_ID=admin[0],
                   AWS_SECRET_ACCESS_KEY=admin[1], AWS_EC2_METADATA_DISABLED="true")
        start = subprocess.run([cu, "start"], env=env, capture_output=True, text=True)
        if start.returncode != 0:
            log(f"cu start failed ({start.returncode}): {start.stdout.strip()} {start.stderr.strip()}")
            return 2
        daemon_started = True
        log(start.stdout.strip())

        client = Client(os.path.join(home, "run", "core.sock"))
        persona_id = client.call("persona/create", {"name": "bench", "provider": "local"})["id"]
        wallet = f"persona/{persona_id}"
        creds = memory_role_credentials(boto3, endpoint, admin, roles["continuum-memory"],
                                        REFERENCE_PREFIX + wallet)
        references = {"boto3": s3_client(boto3, config, endpoint, creds, expect_continue=True),
                      "boto3_one_exchange": s3_client(boto3, config, endpoint, creds, expect_continue=False)}
        result = run(client, references, persona_id)
        client.close()
        result["objects"] = count_objects(admin_s3, wallet)
        return report(result)
    finally:
        if daemon_started:
            subprocess.run([cu, "stop"], env=env, capture_output=True)
        moto.terminate()
        try:
            moto.wait(timeout=10)
        except subprocess.TimeoutExpired:
            moto.kill()
            moto.wait()
        if os.environ.get("S3_BENCH_KEEP") == "1":
            log(f"kept the home: {home}")
        else:
            shutil.rmtree(work, ignore_errors=True)


PATHS = ("daemon", "boto3", "boto3_one_exchange")
LABELS = {
    "daemon": "`memory/remember` through the daemon",
    "boto3": "boto3 `put_object` (default: `Expect: 100-continue`)",
    "boto3_one_exchange": "boto3 `put_object` without `Expect` (one exchange, as the daemon's SDK)",
    "boto3_http": "  boto3 default: its HTTP exchange alone",
    "boto3_one_exchange_http": "  boto3 without `Expect`: its HTTP exchange alone",
    "ping": "`ping` on the daemon connection (reference)",
}


def run(client, references, persona_id):
    rng = random.Random(SEED)
    bucket = BUCKETS["memory"]
    all_texts = texts(rng, WARMUP + ITERS)

    def daemon_write(text):
        t = time.perf_counter_ns()
        memory = client.call("memory/remember", {"persona": "bench", "text": text})
        return (time.perf_counter_ns() - t) / 1000, memory

    # The HTTP exchange alone of each boto3 client (botocore's urllib3 send
    # and the read of the answer); the rest of a call is boto3's own work
    # (parameters, checksum, SigV4, parsing the answer).
    http = {name: [] for name in references}

    def time_http(name, session):
        send = session.send

        def timed_send(request):
            t = time.perf_counter_ns()
            try:
                return send(request)
            finally:
                http[name].append((time.perf_counter_ns() - t) / 1000)
        session.send = timed_send

    def boto3_writer(name):
        s3 = references[name]
        time_http(name, s3._endpoint.http_session)

        def write(text):
            t = time.perf_counter_ns()
            memory = {"id": new_id(), "personaId": persona_id, "text": text, "tags": [],
                      "createdAtMs": int(time.time() * 1000)}
            body = json.dumps(memory, separators=(",", ":"), ensure_ascii=False).encode()
            s3.put_object(Bucket=bucket, Key=f"{REFERENCE_PREFIX}persona/{persona_id}/{memory['id']}",
                          Body=body, ContentType="application/json", IfNoneMatch="*")
            return (time.perf_counter_ns() - t) / 1000, body
        return write

    writers = {"daemon": daemon_write}
    writers.update((name, boto3_writer(name)) for name in references)

    def pings(n):
        out = []
        for _ in range(n):
            t = time.perf_counter_ns()
            client.call("ping")
            out.append((time.perf_counter_ns() - t) / 1000)
        return out

    # Warm-up: the first remember loads the persona's index (a LIST) and
    # assumes the memory role for its wallet; boto3 opens its connections.
    log(f"warm-up: {WARMUP} calls per path")
    pings(WARMUP)
    bodies = {}
    for text in all_texts[:WARMUP]:
        for name, write in writers.items():
            bodies[name] = write(text)[1]
    # The daemon's body is serde_json of the Memory it answers (same fields, same order).
    bodies["daemon"] = json.dumps(bodies["daemon"], separators=(",", ":"), ensure_ascii=False).encode()

    log(f"measuring: {ITERS} calls per path in blocks of {BLOCK}, rotating which path goes first")
    samples = {name: [] for name in PATHS}
    http_measured = {name: [] for name in references}
    blocks = []
    measured = all_texts[WARMUP:]
    for n, start in enumerate(range(0, ITERS, BLOCK)):
        chunk = measured[start:start + BLOCK]
        order = PATHS[n % len(PATHS):] + PATHS[:n % len(PATHS)]
        got = {}
        for name in order:
            if name in http:
                http[name].clear()
            got[name] = [writers[name](text)[0] for text in chunk]
        for name in references:
            if len(http[name]) != len(chunk):
                raise RuntimeError(f"{name}: {len(http[name])} requests for {len(chunk)} writes (retries?)")
            http_measured[name] += http[name]
        for name in PATHS:
            samples[name] += got[name]
        blocks.append({name: summary(got[name])["p50_us"] for name in PATHS})
    ping = pings(ITERS)
    result = {
        "config": {"iters": ITERS, "warmup": WARMUP, "block": BLOCK, "seed": SEED, "text_chars": TEXT_CHARS},
        "body_bytes": {name: len(body) for name, body in bodies.items()},
        "ping": summary(ping),
        "block_p50s_us": blocks,
        "samples_us": dict(samples, **{f"{name}_http": v for name, v in http_measured.items()}),
    }
    for name in PATHS:
        result[name] = summary(samples[name])
    for name in references:
        result[f"{name}_http"] = summary(http_measured[name])
    return result


def count_objects(s3, wallet):
    """Objects under the daemon's and boto3's prefixes of the memory bucket, read as admin."""
    counts = {}
    for path, prefix in (("daemon", f"{wallet}/"), ("boto3", f"{REFERENCE_PREFIX}{wallet}/")):
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKETS["memory"], Prefix=prefix)
        counts[path] = sum(len(page.get("Contents", [])) for page in pages)
    return counts


def report(r):
    if os.environ.get("S3_BENCH_JSON"):
        with open(os.environ["S3_BENCH_JSON"], "w") as f:
            json.dump(r, f, indent=1)
    keys = ["daemon", "boto3", "boto3_http", "boto3_one_exchange", "boto3_one_exchange_http", "ping"]
    head = ("path", "p50", "p90", "p99", "mean")
    cells = [(LABELS[k], fmt_us(r[k]["p50_us"]), fmt_us(r[k]["p90_us"]), fmt_us(r[k]["p99_us"]),
              fmt_us(r[k]["mean_us"])) for k in keys]
    widths = [max(len(str(x[i])) for x in cells + [head]) for i in range(len(head))]
    line = lambda c: "| " + " | ".join(str(v).ljust(w) for v, w in zip(c, widths)) + " |"
    print(line(head))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for c in cells:
        print(line(c))
    print()
    d = r["daemon"]["p50_us"]
    for name in ("boto3", "boto3_one_exchange"):
        b = r[name]["p50_us"]
        per_block = sorted(block["daemon"] / block[name] for block in r["block_p50s_us"])
        print(f"p50 daemon / {name}: {d / b:.2f}x ({'+' if d >= b else '-'}{fmt_us(abs(d - b))}); "
              f"per block: median {percentile(per_block, 50):.2f}x, "
              f"range {per_block[0]:.2f}x .. {per_block[-1]:.2f}x over {len(per_block)} blocks")
    c, sizes = r["config"], r["body_bytes"]
    print(f"samples: {r['daemon']['n']:,} per path after {c['warmup']} warm-up each, blocks of {c['block']} "
          f"(order rotated per block); text ~{c['text_chars']} chars; last warm-up bodies: "
          + ", ".join(f"{name} {sizes[name]} B" for name in PATHS))
    o = r["objects"]
    print(f"objects in the memory bucket: {o['daemon']:,} under the persona's prefix, "
          f"{o['boto3']:,} under {REFERENCE_PREFIX}")
    print("The daemon's extra work per write: the JSON-RPC hop, the gate and its (rolled-up) audit record, "
          "the persona lookup, the STS-cached credential lookup and the in-process index update.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
