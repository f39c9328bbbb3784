"""imdb_api.py — imdb-serve's POST /v1/predict in Python, over the package libimdb.

The request and answer of imdb-serve(1), section API, field for field and message for
message (lib/serve/http.c, handle_predict), shared by the two example servers beside this
file: flask_app.py (Flask) and wsgi_app.py (the standard library's wsgiref only).

    {"text": "..."}                  -> {"id":1,"label":"pos","probability":0.794115}
    {"texts": ["...", ...]}          -> {"predictions":[{"id":1,...},...]}
    optional "explain": true | false | K (0..100)  -> "explain":[{"ngram":..,"weight":..}]
    anything wrong                   -> 400 {"error": "..."}; a body too big -> 413

The answers are imdb-serve's bytes (tests/examples-web.sh compares them): compact JSON
written as jansson writes it (lib/score/json.h, JSON_SERVE): P(pos) and the weights
rounded to six decimals as C's round() does (half away from zero), then "%.15g" with
".0" added to integers and the exponent's "+" and leading zeros dropped; strings with
only '"', '\\' and the controls escaped (\b \f \n \r \t, else \\u00XX), UTF-8 as is.
Python's json.dumps differs in each of these (repr of floats, "1e-06", "\\u001f").

What differs: the wording of "malformed JSON ..." messages (Python's json module finds
the fault, not jansson; the status, 400, and the prefix are the same), and documents
nested deeper than Python's recursion limit (about 1000 levels; jansson's is 2048), which
are refused as malformed here.

main() is the two servers' command line (imdb-serve's options --listen, --max-body,
--port-file, -q); each server brings its application and its HTTP server.
"""
import argparse
import json
import math
import os
import re
import sys

EXPLAIN_DEFAULT = 5      # n-grams for "explain": true (lib/serve/http.h HTTP_EXPLAIN_DEFAULT)
EXPLAIN_MAX = 100        # HTTP_EXPLAIN_MAX
MAX_BODY = 1 << 20       # imdb-serve --max-body's default

NOT_FOUND = "not found: the paths are /v1/predict (POST) and /health (GET)"
PREDICT_NOT_ALLOWED = "method not allowed: use POST on /v1/predict"
GET_NOT_ALLOWED = "method not allowed: use GET"


class BadRequest(Exception):
    """A request refused with status (400 unless told); the message becomes the answer's
    {"error": ...}."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


# ---- JSON as imdb-serve writes it ---------------------------------------------------------

_ESCAPES = {c: "\\u%04X" % c for c in range(0x20)}
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\", ord("\b"): "\\b", ord("\f"): "\\f",
                 ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def jstr(s):
    """s as a JSON string (json.h JSON_SERVE): '"', '\\' and the controls escaped."""
    return '"' + s.translate(_ESCAPES) + '"'


def round6(x):
    """C's round(x * 1e6) / 1e6: halves away from zero (Python's round() goes to even).
    floor and the difference are exact for a double, so is the comparison with 0.5."""
    y = abs(x * 1e6)
    r = math.floor(y)
    if y - r >= 0.5:
        r += 1
    return math.copysign(r, x) / 1e6


_EXPONENT = re.compile(r"e([+-])0*(?=\d)")


def jnum(x):
    """A probability or weight as imdb-serve writes it (jansson's real format after
    rounding to six decimals); null if not finite."""
    if not math.isfinite(x):
        return "null"
    s = "%.15g" % round6(x)
    if "." not in s and "e" not in s:
        s += ".0"
    return _EXPONENT.sub(lambda m: "e-" if m.group(1) == "-" else "e", s)


def error_body(message):
    """The body of an error answer: {"error":"..."} and a newline."""
    return ('{"error":' + jstr(message) + "}\n").encode("utf-8")


def _prediction(i, p, contribs=None):
    out = '{"id":%d,"label":"%s","probability":%s' % (i, "pos" if p >= 0.5 else "neg", jnum(p))
    if contribs is not None:
        out += ',"explain":[' + ",".join('{"ngram":%s,"weight":%s}' % (jstr(g), jnum(w))
                                         for g, w in contribs) + "]"
    return out + "}"


# ---- the request ------------------------------------------------------------------------

def _malformed(what):
    return BadRequest("malformed JSON: " + what)


def _object(pairs):
    """jansson's JSON_REJECT_DUPLICATES, and its refusal of NUL in keys."""
    seen = set()
    for key, _ in pairs:
        if "\0" in key:
            raise _malformed("NUL byte in object key not supported")
        if key in seen:
            raise _malformed("duplicate object key")
        seen.add(key)
    return dict(pairs)


def _integer(s):
    """jansson's integers are C long long."""
    v = int(s)
    if not -(1 << 63) <= v < (1 << 63):
        raise _malformed("too big integer" if v > 0 else "too big negative integer")
    return v


def _real(s):
    v = float(s)
    if math.isinf(v):
        raise _malformed("real number overflow")
    return v


def _constant(name):
    """NaN, Infinity and -Infinity are not JSON (Python's json accepts them)."""
    raise _malformed("invalid token near '%s'" % name)


# A lone surrogate can only come from a \\u escape (decoding refused encoded ones).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _lone_surrogates(root):
    """True if some string in the document has a lone surrogate (jansson refuses the
    escape "\\ud800" alone; Python's json keeps it). Walked without recursion."""
    stack = [root]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(v, dict):
            stack.extend(v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


def parse(body):
    """The request body (bytes) as (texts, k, single): the texts to score, the number of
    n-grams to explain (0: none) and whether the answer is one object ("text"). Raises
    BadRequest with imdb-serve's message."""
    if not body:
        raise BadRequest("empty request body: send a JSON object such as {\"text\": \"...\"}")
    try:
        doc = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRequest(f"request body is not valid UTF-8 (near byte {e.start}): "
                         "JSON text must be UTF-8") from None
    try:
        root = json.loads(doc, object_pairs_hook=_object, parse_int=_integer,
                          parse_float=_real, parse_constant=_constant)
    except json.JSONDecodeError as e:
        raise BadRequest(f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise _malformed("maximum parsing depth reached") from None
    except ValueError as e:          # int() of more than 4300 digits
        raise _malformed(str(e)) from None
    if _SURROGATE_ESCAPE.search(doc) and _lone_surrogates(root):
        raise _malformed("invalid Unicode escape (a lone surrogate)")
    if not isinstance(root, dict):
        raise BadRequest("the request must be a JSON object with a \"text\" or \"texts\" field")
    k = 0
    for key, val in root.items():
        if key in ("text", "texts"):
            continue
        if key == "explain":
            if isinstance(val, bool):
                k = EXPLAIN_DEFAULT if val else 0
            elif isinstance(val, int) and 0 <= val <= EXPLAIN_MAX:
                k = val
            else:
                raise BadRequest("\"explain\" must be true, false or a number of n-grams "
                                 f"from 0 to {EXPLAIN_MAX}")
        else:
            # The name from the client, at most 47 bytes, cut on a UTF-8 boundary.
            name = key.encode("utf-8")[:47].decode("utf-8", "ignore")
            raise BadRequest(f"unknown field \"{name}\" (expected \"text\", \"texts\" or \"explain\")")
    if "text" in root and "texts" in root:
        raise BadRequest("send either \"text\" or \"texts\", not both")
    if "text" not in root and "texts" not in root:
        raise BadRequest("missing field \"text\" (or \"texts\")")
    if "text" in root:
        text = root["text"]
        if not isinstance(text, str) or not text:
            raise BadRequest("\"text\" must be a non-empty string")
        return [text], k, True
    texts = root["texts"]
    if not isinstance(texts, list) or not texts:
        raise BadRequest("\"texts\" must be a non-empty array of strings")
    for i, t in enumerate(texts):
        if not isinstance(t, str) or not t:
            raise BadRequest(f"\"texts\"[{i}] must be a non-empty string")
    return texts, k, False


def check_length(content_length, max_body=MAX_BODY):
    """Refuse (413) a declared body length over max_body before reading the body, as
    imdb-serve does; content_length is the header's text (or None)."""
    if content_length in (None, ""):
        return
    try:
        n = int(content_length)
    except ValueError:
        n = -1
    if n < 0 or n > max_body:
        raise too_big(max_body)


def too_big(max_body=MAX_BODY):
    return BadRequest(f"request body larger than {max_body} bytes (imdb-serve --max-body)", 413)


# ---- the answers ------------------------------------------------------------------------

def predict(model, body, threads=1):
    """Answer one POST /v1/predict whose body (bytes) is in: (status, body bytes)."""
    try:
        texts, k, single = parse(body)
        if k > 0 and not model.info["can_explain"]:
            raise BadRequest(f"the model (kind {model.kind}) cannot explain its predictions "
                             "(drop \"explain\")")
    except BadRequest as e:
        return e.status, error_body(str(e))
    if k > 0:
        answers = []
        for i, text in enumerate(texts, 1):
            p, contribs = model.explain(text, k)
            answers.append(_prediction(i, p, contribs))
    else:
        answers = [_prediction(i, p) for i, p in
                   enumerate(model.predict_proba(texts, threads), 1)]
    if single:
        out = answers[0]
    else:
        out = '{"predictions":[' + ",".join(answers) + "]}"
    return 200, (out + "\n").encode("utf-8")


def health(model):
    """GET /health: the fields of imdb-serve's answer that this server knows."""
    info = model.info
    path = model.path if isinstance(model.path, str) else model.path.decode("utf-8", "replace")
    return 200, ('{"status":"ok","model":{"kind":%s,"path":%s,"explain":%s,"load_seconds":%s}}\n'
                 % (jstr(info["kind"]), jstr(path), "true" if info["can_explain"] else "false",
                    jnum(info["load_seconds"]))).encode("utf-8")


# The headers of every answer (imdb-serve's).
HEADERS = [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff"),
           ("Cache-Control", "no-store")]


def write_port_file(path, port):
    """Write the port and a newline to path through a temporary file and a rename (a
    reader never sees it half written), as imdb-serve --port-file does."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def parse_listen(text):
    """--listen HOST:PORT or PORT (127.0.0.1 then), as imdb-serve's (IPv4 only here)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host = "127.0.0.1"
    if not port.isdigit() or int(port) > 65535 or not host:
        raise ValueError(f"bad listen address '{text}' (expected HOST:PORT or PORT)")
    return host, int(port)


def parse_size(text):
    """--max-body BYTES, with a suffix K (KiB) or M (MiB), as imdb-serve's."""
    mult = {"K": 1 << 10, "M": 1 << 20}.get(text[-1:].upper(), 1)
    digits = text[:-1] if mult > 1 else text
    if not digits.isdigit() or int(digits) * mult > 1 << 30:
        raise ValueError(f"bad size '{text}' (BYTES, or with a suffix K or M; at most 1024M)")
    return int(digits) * mult


# ---- the command line -------------------------------------------------------------------

def quiet_handler(base, quiet):
    """A subclass of the request handler class base (an http.server
    BaseHTTPRequestHandler) that writes no access log if quiet."""

    class Handler(base):
        def log_request(self, *a, **kw):
            if not quiet:
                super().log_request(*a, **kw)

    return Handler


def main(name, doc, make_app, make_server, argv=None):
    """Run an example server: parse argv (default sys.argv[1:]) as imdb-serve's options,
    make_app(MODEL, max_body) the application (OSError or ValueError: exit with
    "NAME: message"), make_server(host, port, app, quiet) the HTTP server on it; say
    where it listens on stderr, write --port-file, serve until interrupted; 0.
    doc is the server's docstring: its first paragraph is --help's description."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("model", help="a model file written by imdb-train")
    ap.add_argument("--listen", default="127.0.0.1:8080", type=parse_listen,
                    help="HOST:PORT or PORT (default 127.0.0.1:8080; port 0: any free one)")
    ap.add_argument("--max-body", default=MAX_BODY, type=parse_size,
                    help="the largest request body, in bytes (suffix K or M; default 1M)")
    ap.add_argument("--port-file", help="write the port number to this file once listening")
    ap.add_argument("-q", "--quiet", action="store_true", help="no access log")
    args = ap.parse_args(argv)
    try:
        app = make_app(args.model, args.max_body)
    except (OSError, ValueError) as e:
        sys.exit(f"{name}: {e}")
    host, port = args.listen
    server = make_server(host, port, app, args.quiet)
    print(f"{name}: listening on http://{host}:{server.server_port}/", file=sys.stderr,
          flush=True)
    if args.port_file:
        write_port_file(args.port_file, server.server_port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0
