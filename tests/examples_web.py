"""examples_web.py — run by tests/examples-web.sh: the same requests to imdb-serve and to
the example servers (examples/flask_app.py, examples/wsgi_app.py), the answers compared.

    python3 examples_web.py NAME=PORT... -- NAME=PORT...

The first group serves an nblr model, the second a model that cannot explain (mlp); the
first NAME of each group is imdb-serve, the reference; every server has --max-body 65536.
Byte for byte: status, Content-Type, body (and Allow for 405), except where imdb_api.py
says the wording differs ("malformed JSON" messages: only status and prefix compared,
404: status and the JSON shape).
"""
import http.client
import json
import os
import pathlib
import sys
import tarfile

MAX_BODY = 65536
FAILURES = []


def request(port, method, path, body=b"", headers=None, chunked=False):
    """(status, Content-Type, Allow, body) of one request on a connection of its own."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        hdrs = dict(headers or {})
        if chunked:
            pieces = [body[i:i + 1000] for i in range(0, len(body), 1000)] or [b""]
            try:
                conn.request(method, path, body=iter(pieces), headers=hdrs,
                             encode_chunked=True)
            except (BrokenPipeError, ConnectionResetError):
                pass    # the server answered 413 before reading it all: read that answer
        else:
            try:
                conn.request(method, path, body=body if method not in ("GET", "HEAD") else None,
                             headers=hdrs)
            except (BrokenPipeError, ConnectionResetError):
                pass
        r = conn.getresponse()
        return (r.status, r.getheader("Content-Type"), r.getheader("Allow"), r.read())
    finally:
        conn.close()


def check(what, ok, detail=""):
    if not ok:
        FAILURES.append(f"{what}: {detail}")
        print(f"FAIL: {what}: {detail}", file=sys.stderr)


def compare(servers, what, method, path, body=b"", exact=True, chunked=False,
            headers=None, only=None):
    """Send the request to each server and compare with the first's answer."""
    names = [n for n in servers if only is None or n in only]
    ref_name = names[0]
    ref = request(servers[ref_name], method, path, body, headers, chunked)
    for name in names[1:]:
        got = request(servers[name], method, path, body, headers, chunked)
        label = f"{what} [{name} vs {ref_name}]"
        if exact:
            check(label, got == ref, f"\n  {ref_name}: {ref}\n  {name}: {got}")
        else:
            same_shape = (got[0] == ref[0] and got[1] == ref[1] and
                          got[3].startswith(b'{"error":') and got[3].endswith(b"}\n"))
            check(label, same_shape, f"\n  {ref_name}: {ref}\n  {name}: {got}")
    return ref


def post(servers, what, doc, exact=True, **kw):
    body = doc if isinstance(doc, bytes) else json.dumps(doc, ensure_ascii=False).encode("utf-8")
    return compare(servers, what, "POST", "/v1/predict", body, exact, **kw)


def malformed(servers, what, body):
    ref = post(servers, what, body, exact=False)
    check(what + " (reference)", ref[0] == 400 and ref[3].startswith(b'{"error":"malformed JSON'),
          str(ref))
    for name in list(servers)[1:]:
        got = request(servers[name], "POST", "/v1/predict", body)
        check(f"{what} [{name}]", got[3].startswith(b'{"error":"malformed JSON'), str(got))


def reviews():
    """Reviews of the fixture sample, cut to keep a batch under the body limit."""
    tar = pathlib.Path(os.environ["IMDB_SRCDIR"]) / "tests" / "fixtures" / "mini-aclImdb.tar.gz"
    out = []
    with tarfile.open(tar) as t:
        for m in sorted(t.getmembers(), key=lambda m: m.name):
            if m.isfile() and m.name.endswith(".txt") and "/test/" in m.name:
                out.append(t.extractfile(m).read().decode("utf-8")[:700])
    return out


def nblr_cases(s):
    texts = reviews()
    batch = texts[:60]
    while len(json.dumps({"texts": batch}).encode()) > MAX_BODY - 100:
        batch.pop()
    assert len(batch) >= 20, len(batch)
    ref = post(s, "single", {"text": "A wonderful, moving film."})
    check("single answer", ref[0] == 200 and ref[3].startswith(b'{"id":1,"label":"'), str(ref))
    post(s, "controls, quotes, non-ASCII, \\u0000",
         {"text": "\0x\x1f\x7f \"q\" \\ caf\u00e9 \u2603 \U0001F600 <br /> &amp; it was bad"})
    ref = post(s, "batch", {"texts": batch})
    check("batch answer", ref[0] == 200 and ref[3].count(b'"id":') == len(batch), str(ref[:3]))
    post(s, "batch, explain true", {"texts": batch[:20], "explain": True})
    post(s, "batch, explain 2", {"texts": batch[:20], "explain": 2})
    # Every review explained by 100 n-grams: some weights are below 1e-4, written with an
    # exponent ("1e-5", where Python's repr writes "1e-05").
    exponents = 0
    for i in range(0, len(texts), 20):
        ref = post(s, f"explain 100, reviews {i + 1}-", {"texts": texts[i:i + 20], "explain": 100})
        exponents += ref[3].count(b"e-")
    check("weights with an exponent were compared", exponents > 0, "none")
    post(s, "explain 0", {"text": "not bad at all", "explain": 0})
    post(s, "explain false", {"explain": False, "text": "not bad at all"})
    post(s, "explain, nothing to explain", {"text": "zzzqqq", "explain": 3})
    post(s, "explain, odd characters", {"text": "\t\"Great\"\u00a0film\\ \x01 !!!", "explain": 8})
    post(s, "a long text", {"text": " ".join(texts)[:MAX_BODY - 200]})
    post(s, "text as bytes, escaped", b'{"text":"caf\\u00e9 \\ud83d\\ude00 \\/ good"}')
    post(s, "chunked", {"text": " ".join(texts)[:5000]}, chunked=True,
         only=["imdb-serve", "flask"])
    # Wrong requests, with imdb-serve's messages.
    for what, doc in [
            ("empty body", b""), ("an array", b"[1]"), ("a number", b"5"), ("null", b"null"),
            ("a string", b'"text"'), ("{}", b"{}"),
            ("empty text", {"text": ""}), ("text a number", {"text": 5}),
            ("text null", {"text": None}), ("text a list", {"text": ["a"]}),
            ("texts empty", {"texts": []}), ("texts a string", {"texts": "a"}),
            ("texts with a number", {"texts": ["a", 5]}), ("texts with null", {"texts": ["a", None]}),
            ("texts with an empty one", {"texts": ["a", "b", ""]}),
            ("texts nested", {"texts": [["a"]]}),
            ("both", {"text": "a", "texts": ["b"]}), ("neither", {"explain": 3}),
            ("unknown field", {"txt": "a"}),
            ("unknown field, controls and non-ASCII", {"t\x01\x1f\x1b\u00e9\n\b\x7f": "a"}),
            ("unknown field cut at 47 bytes", {"\u00e9" * 30: 1}),
            ("unknown field after explain", {"text": "a", "explain": True, "bogus": 1}),
            ("bad explain before unknown", {"explain": "x", "bogus": 1}),
            ("explain a string", {"text": "a", "explain": "yes"}),
            ("explain 101", {"text": "a", "explain": 101}),
            ("explain -1", {"text": "a", "explain": -1}),
            ("explain 5.0", {"text": "a", "explain": 5.0}),
            ("explain null", {"text": "a", "explain": None}),
            ("invalid UTF-8", b'{"text":"ab\xffc"}'), ("invalid UTF-8 first", b"\xff"),
            ("truncated UTF-8", b'{"text":"ab\xe2\x82"}'),
            ("overlong UTF-8", b'{"text":"\xc0\xaf"}'),
            ("encoded surrogate", b'{"text":"\xed\xa0\x80"}'),
            ("UTF-8 beyond U+10FFFF", b'{"text":"\xf4\x90\x80\x80"}')]:
        ref = post(s, what, doc)
        check(what + " is a 400", ref[0] == 400 and ref[3].startswith(b'{"error":"'), str(ref))
    for what, body in [
            ("cut short", b'{"text":'), ("trailing garbage", b'{"text":"a"} x'),
            ("duplicate key", b'{"text":"a","text":"b"}'),
            ("duplicate key nested", b'{"texts":["a"],"explain":{"a":1,"a":2}}'),
            ("lone surrogate", b'{"text":"\\ud800"}'),
            ("lone surrogate in a key", b'{"\\udc00":1}'),
            ("real overflow", b'{"text":1e400}'),
            ("integer overflow", b'{"explain":99999999999999999999}'),
            ("negative integer overflow", b'{"explain":-99999999999999999999}'),
            ("NUL in a key", b'{"a\\u0000":1}'), ("NaN", b'{"text":"a","explain":NaN}'),
            ("Infinity", b"Infinity"), ("blank", b"   "),
            ("raw control character", b'{"text":"a\x01"}'), ("single quotes", b"{'text':'a'}"),
            ("trailing comma", b'{"text":"a",}'), ("deep", b"[" * 50000)]:
        malformed(s, what, body)
    # 413: with a Content-Length, answered before the body is read, and chunked.
    big = json.dumps({"text": "a" * (MAX_BODY + 10)}).encode()
    ref = post(s, "too big", big)
    check("too big is a 413", ref[0] == 413, str(ref))
    post(s, "too big, chunked", big, chunked=True, only=["imdb-serve", "flask"])
    post(s, "just fits", json.dumps({"text": "b" * (MAX_BODY - 11)}).encode())
    # Methods and paths.
    for method in ("GET", "PUT", "DELETE"):
        ref = compare(s, f"{method} /v1/predict", method, "/v1/predict", b"x")
        check(f"{method} /v1/predict is a 405", ref[0] == 405 and ref[2] == "POST", str(ref))
    compare(s, "POST /health", "POST", "/health", b"x")
    compare(s, "GET /nowhere", "GET", "/nowhere", exact=False)
    for name, port in s.items():
        st, ctype, _, body = request(port, "GET", "/health")
        h = json.loads(body)
        check(f"/health [{name}]", st == 200 and ctype == "application/json" and
              h["status"] == "ok" and h["model"]["kind"] == "nblr" and h["model"]["explain"],
              str((st, body)))


def mlp_cases(s):
    texts = reviews()[:30]
    post(s, "mlp: batch", {"texts": texts})
    post(s, "mlp: explain", {"texts": texts, "explain": True})
    post(s, "mlp: explain 0", {"text": texts[0], "explain": 0})


def servers(args):
    return {name: int(port) for name, port in (a.split("=") for a in args)}


def main(argv):
    i = argv.index("--")
    nblr_cases(servers(argv[:i]))
    mlp_cases(servers(argv[i + 1:]))
    if FAILURES:
        print(f"{len(FAILURES)} failures", file=sys.stderr)
        return 1
    print("all answers as imdb-serve's")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
