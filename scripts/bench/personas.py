#!/usr/bin/env python3
"""personas.py — the persona pipeline of the real daemon, in one run.

    python3 scripts/bench/personas.py          (from any directory)

Builds the release binaries (`cargo build --release --locked`), starts the
daemon in a temp home with one provider `local` pointing at a scripted
OpenAI-compatible server inside this script. The model is SCRIPTED: every
chat completion is answered at once with "ok", so what is measured is the
daemon, not a model. Then it fills one room with 10,000 messages and one
persona with 100,000 memories (realistic sentences over a ~2,000-word
vocabulary with Zipf-like word frequencies, fixed seed; JSON-RPC batches),
has the persona join the room, and measures over one persistent Unix-socket
JSON-RPC connection (this script's client, so its own overhead is in every
round trip; `ping` is the reference for it):

  (a) `ping` round trip;
  (b) `memory/recall` (3-6 words, limit 5) round trip, target p50 < 2 ms;
  (c) from sending `chat/send "@bench <question>"` to holding the persona's
      answer, fetched by a `chat/history` long-poll after the question's id:
      the send, the responder's pick-up, the whole answer (pipeline and
      model) and the wake-up and read of the long-poll. One answer at a
      time; target p50 < 5 ms;
  (d) per answer of (c), the daemon's own time, `pipelineUs` from
      `chat/answer`: the persona's tool list (`commands/list` as the
      persona), the room history read, the recall of memories for the
      question, the prompt, and posting the answer; everything but waiting
      on the model (not in it: the responder's room read before the answer
      starts, and writing the answer record after). Target p50 < 2 ms. And
      `inferenceUs` (the scripted model's round trip as the daemon sees it,
      request building included), for information.

Also reported: how long populating took, the room's and the persona's sizes,
the daemon's RSS. Prints a table with PASS/MISS per target. Exit status is 0
even on a MISS unless PERSONA_BENCH_STRICT=1.

Tunables (environment): PERSONA_BENCH_N (measured answers, 300),
PERSONA_BENCH_RECALLS (measured recalls and pings, 2000),
PERSONA_BENCH_MESSAGES (room size, 10000), PERSONA_BENCH_MEMORIES (100000),
PERSONA_BENCH_SEED (1), PERSONA_BENCH_JSON (also write every figure as one
JSON object to this file), PERSONA_BENCH_KEEP=1 (keep the temp home and print
where), PERSONA_BENCH_BIN (a directory holding `cu` and `continuum-core`:
use those and skip the build). Honors CARGO_TARGET_DIR. Python's standard
library only.
"""
import bisect
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from figures import fmt_us as _fmt_us, summary  # scripts/bench/figures.py
from rpc import Client, RpcError  # scripts/bench/rpc.py

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ANSWERS = int(os.environ.get("PERSONA_BENCH_N", "300"))
RECALLS = int(os.environ.get("PERSONA_BENCH_RECALLS", "2000"))
MESSAGES = int(os.environ.get("PERSONA_BENCH_MESSAGES", "10000"))
MEMORIES = int(os.environ.get("PERSONA_BENCH_MEMORIES", "100000"))
SEED = int(os.environ.get("PERSONA_BENCH_SEED", "1"))
ANSWER_WARMUP = 20
RECALL_WARMUP = 200
TARGETS_US = {"recall": 2000, "visible": 5000, "pipeline": 2000}


def log(message):
    print(f"[persona-bench] {message}", file=sys.stderr, flush=True)


# --- words ---------------------------------------------------------------------
# Function words head the frequency ranking (as in English); content words,
# inflected, fill the long tail in a seeded order.

FUNCTION = """the of and to in is that it for was on are with as be at by this
have from or had not but what all were we when your can said there use an
each which she do how their if will up other about out many then them these so
some her would make like him into has look two more go see no way could my
than been who its now find long down did get come made may part over new after
also our just any me very through back much before too any same tell our why
ask went men well only little work where most know still should every near
under last never while might next since off often until always those both once
yet upon here because around again few must"""

NOUNS = """time year people way day man woman child world life hand part place
case week company system program question government number night point home
water room mother area money story fact month lot right study book eye job word
business issue side kind head house service friend father power hour game line
end member law car city community name president team minute idea kid body
information back parent face others level office door health person art war
history party result change morning reason research girl guy moment air teacher
force education foot boy age policy music market sense nation plan college
interest death experience effect class control care field development role
effort rate heart drug show leader light voice wife police mind price report
decision son view relationship town road arm difference value building action
model season society tax director position player record paper space ground
form event official matter center couple site project activity star table need
court oil situation cost industry figure street image phone data picture
practice piece land product doctor wall patient worker news test movie north
love support technology step baby computer type attention film tree source
organization hair window evidence population truth song language garden kitchen
river mountain bridge island forest village beach lake ocean train bus bike
plane ticket holiday birthday dinner lunch breakfast coffee tea bread cheese
apple cake soup recipe letter email message meeting appointment deadline budget
invoice contract client customer manager colleague neighbor cousin sister
brother uncle aunt grandmother grandfather daughter husband dog cat horse bird
fish flower plant seed rain snow wind storm summer winter spring autumn weekend
monday tuesday friday sunday january march june september december hospital
school library museum church restaurant hotel airport station park shop store
market bank stadium theater concert festival wedding funeral trip journey map
camera guitar piano violin painting poem novel chapter lesson exam homework
score goal match race medal prize gift box bag key lamp chair bed sofa desk
shelf mirror clock watch ring shirt dress shoe hat coat jacket glove umbrella
blanket pillow towel soap brush knife fork spoon plate cup bottle glass jar
bowl pan oven fridge sink engine wheel battery cable screen keyboard mouse
printer server network password account website app bug feature release
version backup database file folder document spreadsheet slide chart"""

VERBS = """ask work seem feel try leave call need mean keep let begin help talk
turn start show hear play run move live believe bring happen write provide sit
stand lose pay meet include continue set learn lead understand watch follow
stop create speak read allow add spend grow open walk win offer remember love
consider appear buy wait serve die send expect build stay fall cut reach kill
remain suggest raise pass sell require report decide pull explain hope develop
carry break receive agree support hit produce eat cover catch draw choose cause
point listen realize place close involve thank prefer share travel cook clean
paint fix plant visit finish plan book order deliver return borrow lend invite
call forget enjoy hate miss worry laugh smile cry sing dance swim climb drive
ride fly sail jump throw kick pick drop lift push wash dry fold pack repair
replace install update delete save load print copy paste check test measure
count compare collect store sort search record mention promise refuse accept
answer reply discuss argue describe notice prepare practice improve increase
reduce celebrate organize schedule cancel postpone confirm remind arrive depart
park rent own earn spend owe bake boil fry grill taste smell touch"""

ADJECTIVES = """other new good high old great big small large national young
different black long little important political bad white real best right
social only public sure low early able human local late hard major better
economic strong possible whole free military true federal international full
special easy clear recent certain personal open red difficult available likely
short single medical current wrong private past foreign fine common poor natural
significant similar hot dead central happy serious ready simple left physical
general environmental financial blue democratic dark various entire close legal
religious cold final main green nice huge popular traditional cultural quiet
warm cool busy tired hungry angry calm brave careful clever cheap expensive
fresh heavy light loud soft sweet bitter salty spicy sour rich thin thick wide
narrow deep shallow bright empty friendly funny gentle kind lazy lucky polite
proud rude shy smart strange strict sudden tall wild wise young yellow purple
orange brown golden silver wooden plastic broken noisy sunny rainy windy snowy
cloudy foggy early weekly monthly yearly daily favorite spare extra"""

ADVERBS = """also very often however too usually really early never always
sometimes together likely simply generally instead actually again rather almost
especially ever quickly probably already below directly therefore else
thus easily eventually exactly certainly normally currently extremely finally
constantly properly soon specifically ahead daily highly immediately relatively
slowly fairly primarily completely ultimately widely recently seriously
frequently fully mostly naturally nearly occasionally carefully clearly
essentially possibly slightly somewhat equally greatly necessarily personally
rarely regularly similarly basically closely effectively initially literally
mainly merely gently obviously quietly entirely"""

NAMES = """alice bob carol dave erin frank grace heidi ivan judy karl laura
mallory nina oscar peggy quentin rupert sybil trent ursula victor wendy xavier
yolanda zach amara bruno chen dmitri elena fatima giorgio hana ines jonas kenji
lucia mateo noor olga priya rafael sana tomas uma vera wei yusuf zora paris
london berlin madrid rome lisbon vienna prague oslo dublin tokyo seoul delhi
cairo lagos nairobi lima bogota toronto chicago boston denver seattle austin"""


def inflect_noun(noun):
    if noun.endswith(("s", "sh", "ch", "x")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


IRREGULAR_PAST = dict(pair.split(":") for pair in """feel:felt leave:left begin:began keep:kept
show:showed hear:heard run:ran bring:brought write:wrote sit:sat stand:stood lose:lost pay:paid
meet:met lead:led understand:understood speak:spoke spend:spent grow:grew win:won buy:bought
send:sent build:built fall:fell sell:sold break:broke eat:ate catch:caught draw:drew choose:chose
forget:forgot sing:sang swim:swam drive:drove ride:rode fly:flew throw:threw lend:lent
hit:hit cut:cut set:set let:let read:read""".split())
DOUBLED = set("run sit win cut set let hit stop plan drop swim begin forget".split())


def inflect_verb(verb):
    if verb in DOUBLED:
        past, ing = verb + verb[-1] + "ed", verb + verb[-1] + "ing"
    elif verb.endswith("ie"):
        past, ing = verb + "d", verb[:-2] + "ying"
    elif verb.endswith("e"):
        past, ing = verb + "d", verb[:-1] + "ing"
    elif verb.endswith("y") and verb[-2] not in "aeiou":
        past, ing = verb[:-1] + "ied", verb + "ing"
    else:
        past, ing = verb + "ed", verb + "ing"
    return [inflect_noun(verb), IRREGULAR_PAST.get(verb, past), ing]


def vocabulary(rng):
    """(function words, content words), each in frequency-rank order."""
    function = list(dict.fromkeys(FUNCTION.split()))
    content = []
    for noun in NOUNS.split():
        content += [noun, inflect_noun(noun)]
    for verb in VERBS.split():
        content += [verb] + inflect_verb(verb)
    content += ADJECTIVES.split() + ADVERBS.split() + NAMES.split()
    taken = set(function)
    content = [w for w in dict.fromkeys(content) if w not in taken]
    rng.shuffle(content)
    return function, content


class Zipf:
    """Draws from `words` with probability proportional to 1 / (rank + q)^s
    (Zipf-Mandelbrot: q > 0 flattens the head)."""

    def __init__(self, words, s=1.0, q=0.0):
        self.words = words
        weights = (1.0 / (rank + q) ** s for rank in range(1, len(words) + 1))
        self.cumulative = list(itertools.accumulate(weights))

    def draw(self, rng):
        return self.words[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


class Speaker:
    """Word sequences about 45% function words (as in English), each word
    drawn Zipf-like within its kind: "the" is about 7% of all words, the most
    common content word about 1%, and most content words are rare."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        function, content = vocabulary(self.rng)
        self.size = len(function) + len(content)
        self.function, self.content = Zipf(function), Zipf(content, q=10.0)

    def words(self, count):
        out = []
        for _ in range(count):
            kind = self.function if self.rng.random() < 0.45 else self.content
            out.append(kind.draw(self.rng))
        return out

    def sentence(self, low, high, end="."):
        words = self.words(self.rng.randint(low, high))
        return " ".join(words).capitalize() + end


# --- scripted model --------------------------------------------------------------

ANSWER = json.dumps({
    "id": "x", "object": "chat.completion", "model": "scripted",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}).encode()


class ScriptedModel(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that answers every chat completion at
    once with "ok": a scripted model, so only the daemon is measured."""

    protocol_version = "HTTP/1.1"  # keep-alive, like a real server
    disable_nagle_algorithm = True
    served = 0

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        if self.path.rstrip("/").endswith("/chat/completions"):
            status, body = b"200 OK", ANSWER
            ScriptedModel.served += 1
        else:
            status, body = b"404 Not Found", b'{"error":{"message":"not found"}}'
        # One write: headers and body in one segment.
        self.wfile.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)

    def log_message(self, *_):
        pass


# --- figures ----------------------------------------------------------------------------

def fmt_us(us):
    return _fmt_us(us, 1)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def binaries():
    given = os.environ.get("PERSONA_BENCH_BIN")
    if given:
        return os.path.join(given, "cu"), os.path.join(given, "continuum-core")
    log("building release binaries")
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet", "--manifest-path",
                    os.path.join(ROOT, "Cargo.toml"), "-p", "continuum-daemon", "-p", "continuum-cli"],
                   check=True)
    target = os.path.realpath(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "cu"), os.path.join(target, "release", "continuum-core")


# --- the run ------------------------------------------------------------------------------

def main():
    cu, core = binaries()
    # Short path: Unix socket paths are limited to 108 bytes.
    work = tempfile.mkdtemp(prefix="cup.", dir="/tmp")
    home = os.path.join(work, "h")
    os.makedirs(home, mode=0o700)
    env = dict(os.environ, CONTINUUM_HOME=home, CONTINUUM_CORE_BIN=core)
    model = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedModel)
    model.daemon_threads = True
    threading.Thread(target=model.serve_forever, daemon=True).start()
    try:
        with open(os.path.join(home, "providers.toml"), "w") as f:
            f.write(f'[providers.local]\nkind = "openai"\n'
                    f'base_url = "http://127.0.0.1:{model.server_address[1]}/v1"\nmodel = "scripted"\n')
        with open(os.path.join(home, "config.toml"), "w") as f:
            # No rate limit: every measured question gets its answer.
            f.write("[personas]\nanswers_per_minute = 1000000\nanswer_burst = 1000000\n")
        log("the model is scripted (instant \"ok\" on 127.0.0.1): only the daemon is measured")
        start = subprocess.run([cu, "start"], env=env, capture_output=True, text=True)
        if start.returncode != 0:
            log(f"cu start failed ({start.returncode}): {start.stdout.strip()} {start.stderr.strip()}")
            return 2
        log(start.stdout.strip())
        with open(os.path.join(home, "run", "core.pid")) as f:
            pid = int(f.read().split()[0])
        result = run(Client(os.path.join(home, "run", "core.sock")), pid)
        result["model_requests_served"] = ScriptedModel.served
        return report(result)
    finally:
        subprocess.run([cu, "stop"], env=env, capture_output=True)
        model.shutdown()
        if os.environ.get("PERSONA_BENCH_KEEP") == "1":
            log(f"kept the home: {home}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def progress(what, total):
    step = max(total // 10, 1)
    marks = {"next": step}

    def done(count):
        if count >= marks["next"]:
            log(f"  {what}: {count:,}/{total:,}")
            marks["next"] += step
    return done


def run(client, pid):
    speaker = Speaker(SEED)
    log(f"vocabulary: {speaker.size:,} words")
    client.call("persona/create", {"name": "bench", "provider": "local"})
    client.call("room/create", {"name": "busy"})

    # The room fills before the persona joins, otherwise it answers each one
    # (the only persona of a room answers every message from a person). The
    # responder reads a room's members when it gets to a message, not when
    # the message was posted, so the join waits until it has caught up: the
    # memories go in first, then a pause, then a check that nothing was
    # answered.
    log(f"room: {MESSAGES:,} messages")
    texts = [speaker.sentence(6, 24, end=speaker.rng.choice(".?!")) for _ in range(MESSAGES)]
    t0 = time.perf_counter()
    client.call_many("chat/send", [{"room": "busy", "text": t} for t in texts], progress("messages", MESSAGES))
    messages_s = time.perf_counter() - t0

    log(f"memories: {MEMORIES:,}")
    texts = [speaker.sentence(8, 20) for _ in range(MEMORIES)]
    t0 = time.perf_counter()
    client.call_many("memory/remember", [{"persona": "bench", "text": t, "tags": []} for t in texts],
                     progress("memories", MEMORIES))
    memories_s = time.perf_counter() - t0
    memories = client.call("persona/show", {"persona": "bench"})["memories"]

    time.sleep(1.0)
    client.call("room/join", {"room": "busy", "persona": "bench"})
    time.sleep(0.5)
    stray = len(client.call("chat/answers", {"room": "busy", "limit": 200})["answers"])
    if stray:
        log(f"WARNING: the persona answered {stray} message(s) posted before it joined")
    rss_populated = rss_kb(pid)

    def timed(method, params):
        t = time.perf_counter_ns()
        client.call(method, params)
        return (time.perf_counter_ns() - t) / 1000

    # (a) reference: the bare round trip of this client.
    log(f"ping x{RECALLS:,}")
    for _ in range(RECALL_WARMUP):
        timed("ping", {})
    pings = [timed("ping", {}) for _ in range(RECALLS)]

    # (b) recall.
    log(f"memory/recall x{RECALLS:,}")
    queries = [" ".join(speaker.words(speaker.rng.randint(3, 6))) for _ in range(RECALL_WARMUP + RECALLS)]
    recalled = 0
    recalls = []
    for n, query in enumerate(queries):
        t = time.perf_counter_ns()
        found = client.call("memory/recall", {"persona": "bench", "query": query, "limit": 5})["memories"]
        elapsed = (time.perf_counter_ns() - t) / 1000
        if n >= RECALL_WARMUP:
            recalls.append(elapsed)
            recalled += len(found)

    # (c) question to visible answer, one at a time.
    log(f"chat/send to visible answer x{ANSWERS:,}")
    visible, answer_ids = [], []
    for n in range(ANSWER_WARMUP + ANSWERS):
        question = "@bench " + speaker.sentence(5, 12, end="?")
        t = time.perf_counter_ns()
        sent = client.call("chat/send", {"room": "busy", "text": question})["id"]
        after, answer = sent, None
        while answer is None:
            page = client.call("chat/history", {"room": "busy", "after": after, "waitMs": 10000})
            if not page["messages"]:
                raise RpcError(f"no answer to message {sent} within 10 s")
            answer = next((m for m in page["messages"]
                           if m["author"]["kind"] == "persona" and m.get("replyTo") == sent), None)
            after = page["cursor"]
        elapsed = (time.perf_counter_ns() - t) / 1000
        if n >= ANSWER_WARMUP:
            visible.append(elapsed)
            answer_ids.append(answer["persona"]["answerId"])

    # (d) the daemon's own time per answer (its record is written just after
    # the answer is posted: read them once all are done).
    time.sleep(0.2)
    records = client.call_many("chat/answer", [{"id": a} for a in answer_ids])
    room_messages = client.call("chat/history", {"room": "busy", "limit": 1})["cursor"]
    rss_end = rss_kb(pid)
    return {
        "config": {"answers": ANSWERS, "recalls": RECALLS, "messages": MESSAGES, "memories": MEMORIES,
                   "seed": SEED, "vocabulary": speaker.size},
        "populate_s": {"messages": messages_s, "memories": memories_s},
        "room_messages_last_id": room_messages,
        "memories": memories,
        "ping": summary(pings),
        "recall": summary(recalls),
        "recall_mean_results": recalled / max(len(recalls), 1),
        "visible": summary(visible),
        "pipeline": summary([r["pipelineUs"] for r in records]),
        "inference": summary([r["inferenceUs"] for r in records]),
        "outcomes": sorted({r["outcome"] for r in records}),
        "answers_before_join": stray,
        "rss_kb": {"populated": rss_populated[0], "end": rss_end[0], "peak": rss_end[1]},
    }


def report(r):
    rows = []  # (figure, p50, p90, p99, target, result)

    def row(name, key, target_us=None):
        s = r[key]
        ok = None if target_us is None else s["p50_us"] < target_us
        rows.append((name, fmt_us(s["p50_us"]), fmt_us(s["p90_us"]), fmt_us(s["p99_us"]),
                     "-" if target_us is None else f"p50 < {fmt_us(target_us)}",
                     "-" if ok is None else "PASS" if ok else "MISS"))

    row("(a) ping round trip (reference)", "ping")
    row("(b) memory/recall round trip", "recall", TARGETS_US["recall"])
    row("(c) chat/send to visible answer", "visible", TARGETS_US["visible"])
    row("(d) pipelineUs (daemon's own time)", "pipeline", TARGETS_US["pipeline"])
    row("(d) inferenceUs (scripted model)", "inference")
    head = ("figure", "p50", "p90", "p99", "target", "result")
    widths = [max(len(str(x[i])) for x in rows + [head]) for i in range(len(head))]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    print("Model: scripted (instant \"ok\" over HTTP on 127.0.0.1); only the daemon is measured.")
    print(line(head))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for cells in rows:
        print(line(cells))
    print()
    c, p = r["config"], r["populate_s"]
    print(f"room 'busy': {c['messages']:,} messages before the persona joined, then {c['answers'] + ANSWER_WARMUP:,} "
          f"questions and their answers (last message id {r['room_messages_last_id']:,})")
    print(f"persona 'bench': {r['memories']:,} memories (vocabulary {c['vocabulary']:,} words, seed {c['seed']})")
    print(f"populating: {c['messages']:,} chat/send in {p['messages']:.1f} s ({c['messages'] / p['messages']:,.0f}/s), "
          f"{c['memories']:,} memory/remember in {p['memories']:.1f} s ({c['memories'] / p['memories']:,.0f}/s); "
          f"batches of {BATCH}, {WINDOW} in flight")
    print(f"recall: {r['recall_mean_results']:.2f} memories per recall on average (limit 5)")
    print(f"samples: {r['ping']['n']:,} pings, {r['recall']['n']:,} recalls, {r['visible']['n']:,} answers "
          f"(outcomes: {', '.join(r['outcomes'])}); scripted model served {r['model_requests_served']:,} requests")
    if r["answers_before_join"]:
        print(f"WARNING: {r['answers_before_join']} answer(s) to messages posted before the persona joined")
    k = r["rss_kb"]
    print(f"daemon RSS: {k['populated'] / 1024:.1f} MB after populating, {k['end'] / 1024:.1f} MB at the end "
          f"(peak {k['peak'] / 1024:.1f} MB)")
    misses = sum(1 for cells in rows if cells[-1] == "MISS")
    print(f"{sum(1 for cells in rows if cells[-1] == 'PASS')} PASS, {misses} MISS")
    if os.environ.get("PERSONA_BENCH_JSON"):
        with open(os.environ["PERSONA_BENCH_JSON"], "w") as f:
            json.dump(r, f, indent=1)
    return 1 if misses and os.environ.get("PERSONA_BENCH_STRICT") == "1" else 0


if __name__ == "__main__":
    sys.exit(main())
