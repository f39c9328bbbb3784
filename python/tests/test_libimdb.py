"""Tests of the Python package libimdb, run by tests/python.sh (make check).

The model is trained here from the fixture sample of aclImdb with the tools just built
(IMDB_BIN), the way tests/predict-basic.sh does; the answers are checked against
imdb-predict's on the same model and texts. Run outside make check with
    IMDB_BIN=BUILD/src IMDB_SRCDIR=SRC PYTHONPATH=... python3 -m pytest python/tests
(tests/python.sh sets PYTHONPATH to a copy of python/libimdb/ holding the built module).
"""
import ast
import errno
import gc
import json
import os
import pathlib
import subprocess
import tarfile
import threading

import pytest

import libimdb

BIN = os.environ.get("IMDB_BIN")
SRCDIR = os.environ.get("IMDB_SRCDIR")
if not BIN or not SRCDIR:
    pytest.skip("IMDB_BIN and IMDB_SRCDIR not set (run through make check)",
                allow_module_level=True)
FIXTURES = pathlib.Path(SRCDIR) / "tests" / "fixtures"


def tool(name, *args, **kw):
    return subprocess.run([os.path.join(BIN, name), *map(str, args)], check=True,
                          capture_output=True, **kw)


@pytest.fixture(scope="session")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("libimdb")


@pytest.fixture(scope="session")
def model_path(work):
    tar = FIXTURES / "mini-aclImdb.tar.gz"
    tool("imdb-clean", "--split", "train", tar, "-o", work / "train.tok.gz")
    tool("imdb-vocab", work / "train.tok.gz", "-o", work / "v.gz")
    tool("imdb-train", "-q", "--model", "nblr", "--vocab", work / "v.gz",
         "--output", work / "m.model", work / "train.tok.gz")
    return work / "m.model"


@pytest.fixture(scope="session")
def reviews(work):
    """Every review of the fixture sample (train and test, 530), one line each, as
    imdb-predict reads them (the file's newlines turned into spaces)."""
    texts = []
    with tarfile.open(FIXTURES / "mini-aclImdb.tar.gz") as t:
        for m in sorted(t.getmembers(), key=lambda m: m.name):
            if m.isfile() and m.name.endswith(".txt"):
                texts.append(t.extractfile(m).read().decode("utf-8").replace("\n", " "))
    assert len(texts) > 300
    (work / "reviews.txt").write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    return texts


@pytest.fixture
def model(model_path):
    with libimdb.Model(model_path) as m:
        yield m


def imdb_predict(model_path, input_path, *args):
    out = tool("imdb-predict", "--threads", "1", *args, model_path, input_path).stdout
    return out.decode("utf-8").splitlines()


# --- the answers: the same as imdb-predict's ---------------------------------------------

def test_predict_matches_imdb_predict(model_path, reviews, work, model):
    want = [line.split("\t") for line in imdb_predict(model_path, work / "reviews.txt")]
    got = model.predict(reviews)
    assert len(got) == len(want) == len(reviews)
    for i, ((label, p), (wlabel, wp)) in enumerate(zip(got, want)):
        assert isinstance(p, float) and 0.0 <= p <= 1.0
        assert (label, f"{p:.6f}") == (wlabel, wp), f"review {i + 1}"
    assert {label for label, _ in got} == {"pos", "neg"}


def test_predict_proba_is_predict_without_labels(model, reviews):
    assert model.predict_proba(reviews) == [p for _, p in model.predict(reviews)]


def test_threads_do_not_change_the_result(model_path, reviews):
    with libimdb.Model(model_path) as m1, libimdb.Model(model_path, threads=2) as m2:
        one = m1.predict_proba(reviews)
        assert m2.threads == 2
        assert m2.predict_proba(reviews) == one          # the Model's default, 2
        assert m1.predict_proba(reviews, threads=2) == one
        assert m1.predict_proba(reviews, 2) == one
        assert m1.predict_proba(reviews, threads=0) == one   # one per core
        assert m1.predict_proba(reviews[:1], threads=8) == one[:1]


def test_explain_matches_imdb_predict(model_path, reviews, work, model):
    lines = imdb_predict(model_path, work / "reviews.txt", "--json", "--explain=5")
    for i in range(0, len(reviews), 53):
        want = json.loads(lines[i])
        p, contribs = model.explain(reviews[i], k=5)
        assert f"{p:.6f}" == f"{want['probability']:.6f}"
        assert [(g, f"{w:.6f}") for g, w in contribs] == \
            [(e["ngram"], f"{e['weight']:.6f}") for e in want["explain"]]
        weights = [abs(w) for _, w in contribs]
        assert weights == sorted(weights, reverse=True)
    p, c = model.explain(reviews[0], 1)
    assert len(c) == 1 and p == model.predict_proba(reviews[:1])[0]
    assert model.explain("", k=3) == (model.predict_proba([""])[0], [])


def test_info(model, model_path):
    assert model.kind == "nblr"
    info = model.info
    assert set(info) == {"kind", "params", "clean", "can_explain", "load_seconds", "threshold"}
    assert info["threshold"] == model.threshold == 0.5   # trained without one
    assert info["kind"] == "nblr" and info["can_explain"] is True
    assert isinstance(info["params"], str) and isinstance(info["clean"], str)
    assert "=" in info["clean"]
    assert isinstance(info["load_seconds"], float) and info["load_seconds"] >= 0
    info["kind"] = "changed"                # a copy: the model's own is untouched
    assert model.info["kind"] == "nblr"
    assert model.path == str(model_path) and not model.closed
    assert "nblr" in repr(model)
    model.verify()


def test_the_stored_threshold(work, model_path, reviews):
    """A model trained with -o threshold=X labels by X, as imdb-predict does; an explicit
    threshold= wins."""
    path = work / "t.model"
    tool("imdb-train", "-q", "--model", "nblr", "--vocab", work / "v.gz", "-o", "threshold=0.8",
         "--output", path, work / "train.tok.gz")
    with libimdb.Model(path) as m:
        assert m.threshold == 0.8 and m.info["threshold"] == 0.8
        got = m.predict(reviews)
        want = [line.split("\t") for line in imdb_predict(path, work / "reviews.txt")]
        assert [(label, f"{p:.6f}") for label, p in got] == [tuple(w) for w in want]
        assert any(label == "neg" and p >= 0.5 for label, p in got)
        assert [label for label, _ in m.predict(reviews, threshold=0.5)] == \
            ["pos" if p >= 0.5 else "neg" for _, p in got]


def test_paths_of_every_type(model_path):
    for p in (model_path, str(model_path), os.fsencode(model_path)):
        with libimdb.Model(p) as m:
            assert m.predict(["a wonderful film"])[0][0] in ("pos", "neg")


def test_version_and_docs():
    assert libimdb.__version__.count(".") == 2
    assert all(part.isdigit() for part in libimdb.__version__.split("."))
    for obj in (libimdb, libimdb.Model, libimdb.Model.predict, libimdb.Model.predict_proba,
                libimdb.Model.explain, libimdb.Model.close, libimdb.Model.verify):
        assert obj.__doc__ and len(obj.__doc__) > 20, obj


def test_type_stubs_cover_the_module():
    """Every public name and Model member is in the stubs (python/libimdb/__init__.pyi)."""
    pyi = pathlib.Path(SRCDIR) / "python" / "libimdb" / "__init__.pyi"
    tree = ast.parse(pyi.read_text(encoding="utf-8"))
    top = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    top |= {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign)}
    assert set(libimdb.__all__) <= top
    model_cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Model")
    members = {n.name for n in model_cls.body if isinstance(n, ast.FunctionDef)}
    public = {n for n in dir(libimdb.Model) if not n.startswith("_")}
    assert public <= members, public - members
    assert (pathlib.Path(SRCDIR) / "python" / "libimdb" / "py.typed").exists()


def test_the_module_under_test_is_this_build():
    """tests/python.sh runs the extension and shared library of this build tree."""
    build = os.environ.get("IMDB_BUILDDIR")
    if not build:
        pytest.skip("IMDB_BUILDDIR not set")
    so = os.path.realpath(libimdb._libimdb.__file__)
    assert so.startswith(os.path.realpath(build) + os.sep), so
    with open("/proc/self/maps", encoding="utf-8") as f:
        libs = {line.split()[-1] for line in f if "libimdb.so" in line}
    assert libs and all(os.path.realpath(p).startswith(os.path.realpath(build)) for p in libs), libs


# --- bad input --------------------------------------------------------------------------

def test_items_that_are_not_str(model):
    with pytest.raises(TypeError, match=r"texts\[1\] must be str, not int"):
        model.predict(["fine", 3])
    with pytest.raises(TypeError, match=r"texts\[0\] must be str, not NoneType"):
        model.predict_proba([None])


def test_bytes_items_are_refused(model):
    with pytest.raises(TypeError, match=r"texts\[0\] must be str, not bytes \(decode it"):
        model.predict([b"caf\xe9 \xff not UTF-8"])
    with pytest.raises(TypeError, match="must be str, not bytes"):
        model.explain(b"\xff")


def test_lone_surrogates(model):
    bad = "a film " + os.fsdecode(b"\xff")      # '\udcff', what os.fsdecode gives
    with pytest.raises(UnicodeEncodeError) as e:
        model.predict(["ok", bad])
    assert isinstance(e.value, ValueError)
    assert "texts[1]" in " ".join(getattr(e.value, "__notes__", []))
    with pytest.raises(UnicodeEncodeError):
        model.explain("\ud800")


def test_none_and_non_lists(model):
    with pytest.raises(TypeError, match="not None"):
        model.predict(None)
    with pytest.raises(TypeError, match="not None"):
        model.explain(None)
    with pytest.raises(TypeError, match=r"not str \(for one text: \[text\]\)"):
        model.predict("a single text")
    with pytest.raises(TypeError):
        model.predict_proba(42)
    with pytest.raises(TypeError):
        model.predict()


def test_bad_numbers(model, model_path):
    for bad in (-1, 5000):
        with pytest.raises(ValueError, match="threads"):
            model.predict(["x"], threads=bad)
    with pytest.raises(TypeError, match="threads must be an int"):
        model.predict(["x"], threads="2")
    with pytest.raises(ValueError, match="threads"):
        libimdb.Model(model_path, threads=-2)
    for k in (0, -1, 1001):
        with pytest.raises(ValueError, match="k must be"):
            model.explain("x", k=k)
    with pytest.raises(ValueError, match="threshold"):
        model.predict(["x"], threshold=1.5)


def test_ten_megabytes(model, model_path, work):
    big = ("a wonderful film, " * 600_000)[: 10 * 1024 * 1024]
    assert len(big) == 10 * 1024 * 1024
    (label, p), = model.predict([big])
    assert label == "pos" and 0.5 < p <= 1.0
    (work / "big.txt").write_text(big + "\n", encoding="utf-8")
    assert imdb_predict(model_path, work / "big.txt") == [f"pos\t{p:.6f}"]


def test_empty_inputs(model):
    assert model.predict([]) == []
    assert model.predict_proba(()) == []
    assert model.predict(iter([])) == []
    assert len(model.predict(["", " ", "\0"])) == 3
    gen = (t for t in ["good", "bad"])
    assert len(model.predict(gen)) == 2


def test_close_twice_and_use_after_close(model_path):
    m = libimdb.Model(model_path)
    m.close()
    m.close()                                 # a second close does nothing
    assert m.closed and "closed" in repr(m)
    for call in (lambda: m.predict(["x"]), lambda: m.predict_proba([]),
                 lambda: m.explain("x"), lambda: m.verify(), lambda: m.kind,
                 lambda: m.info, lambda: m.__enter__()):
        with pytest.raises(ValueError, match="closed model"):
            call()
    with libimdb.Model(model_path) as m2:
        pass
    assert m2.closed
    with pytest.raises(ValueError):
        m2.predict(["x"])


def test_missing_file(work):
    path = work / "no-such.model"
    with pytest.raises(FileNotFoundError) as e:
        libimdb.Model(path)
    assert e.value.errno == errno.ENOENT and e.value.filename == str(path)


def test_directory(work):
    with pytest.raises(IsADirectoryError):
        libimdb.Model(work)


def corrupt_cases(model_path, work):
    data = model_path.read_bytes()
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    return {"garbage.model": b"this is not a model\n" * 50,
            "empty.model": b"",
            "truncated.model": data[: len(data) // 3],
            "flipped.model": bytes(flipped)}


def test_corrupt_models(model_path, work):
    """ValueError (libimdb.DataError) with the library's message: the one imdb-predict
    prints after its program name (imdb-predict --verify: scoring checks only the
    chunks a text reaches). A flipped byte is found by the section's checksum, on open
    or at the latest by verify()."""
    for name, data in corrupt_cases(model_path, work).items():
        path = work / name
        path.write_bytes(data)
        with pytest.raises(ValueError) as e:
            with libimdb.Model(path) as m:
                m.verify()
        assert isinstance(e.value, libimdb.DataError), name
        assert isinstance(e.value, libimdb.Error) and e.value.status == 1
        msg = str(e.value)
        assert name in msg and "\n" not in msg, msg
        r = subprocess.run([os.path.join(BIN, "imdb-predict"), "--verify", path],
                           capture_output=True)
        assert r.returncode != 0 and msg in r.stderr.decode("utf-8", "replace"), \
            (msg, r.stderr)


def test_more_items_that_are_not_str(model):
    for bad, name in ((bytearray(b"\xff"), "bytearray"), (memoryview(b"x"), "memoryview"),
                      (3.5, "float"), (["nested"], "list"), (object(), "object")):
        with pytest.raises(TypeError, match=rf"texts\[2\] must be str, not {name}"):
            model.predict_proba(["a", "b", bad])
    with pytest.raises(TypeError, match="text must be str, not int"):
        model.explain(3)
    with pytest.raises(TypeError, match="texts must be a list of str, not int"):
        model.predict(7)
    assert model.predict([type("S", (str,), {})("a wonderful film")])[0][0] in ("pos", "neg")


def test_errors_while_iterating_are_the_callers(model):
    """A generator's own exception passes unchanged (a TypeError is not reworded)."""
    def gen(exc):
        yield "a fine film"
        raise exc("raised by the generator")
    for exc in (TypeError, ValueError, KeyError):
        with pytest.raises(exc, match="raised by the generator"):
            model.predict(gen(exc))
    assert model.predict(["still fine"])[0][0] in ("pos", "neg")


def test_ten_megabytes_of_every_kind(model):
    """10 MB of multi-byte characters, one 10 MB token, explain on 10 MB, and a batch of
    big texts on two threads: answers, no crash."""
    emoji = "\U0001F600 great " * (10 * 1024 * 1024 // 10)
    accents = "\u00e9" * (5 * 1024 * 1024)                 # one token of 10 MB in UTF-8
    for text in (emoji, accents):
        (label, p), = model.predict([text])
        assert label in ("pos", "neg") and 0.0 <= p <= 1.0
    p, contribs = model.explain(("a wonderful film, " * 600_000)[: 10 * 1024 * 1024], k=3)
    assert p > 0.5 and [g for g, _ in contribs][0] in ("wonderful", "wonderful film", "a wonderful")
    assert model.explain(accents, k=3)[1] == []             # unknown to the model
    big = [emoji, accents, "dull"] * 2
    assert model.predict_proba(big, threads=2) == model.predict_proba(big, threads=1)


def test_bad_arguments_never_crash(model, model_path):
    with pytest.raises(OverflowError):
        model.explain("x", k=2 ** 40)
    with pytest.raises(ValueError, match="threshold"):
        model.predict(["x"], threshold=float("nan"))
    with pytest.raises(TypeError, match="threads must be an int, not bool"):
        model.predict(["x"], threads=True)
    with pytest.raises(OverflowError):
        model.predict(["x"], threads=2 ** 70)
    with pytest.raises(TypeError):
        libimdb.Model(None)
    with pytest.raises(FileNotFoundError):
        libimdb.Model("")
    with pytest.raises(ValueError, match="embedded null byte"):
        libimdb.Model(str(model_path) + "\0x")
    with pytest.raises(RuntimeError, match="called twice"):
        model.__init__(model_path)
    assert model.predict(["still fine"])[0][0] in ("pos", "neg")


def test_a_model_never_opened():
    m = libimdb.Model.__new__(libimdb.Model)
    for call in (lambda: m.predict(["x"]), lambda: m.explain("x"), lambda: m.kind,
                 lambda: m.info, lambda: m.verify()):
        with pytest.raises(ValueError, match="not called"):
            call()
    assert m.closed and "not opened" in repr(m)
    m.close()
    m.close()


def test_explain_on_a_kind_that_cannot(work, model_path):
    tool("imdb-train", "-q", "-k", "mlp", "-O", work / "mlp.model", work / "train.tok.gz")
    with libimdb.Model(work / "mlp.model") as m:
        assert m.info["can_explain"] is False
        with pytest.raises(libimdb.UsageError, match="kind mlp cannot explain") as e:
            m.explain("a fine film")
        assert isinstance(e.value, ValueError) and e.value.status == 2
        assert m.predict(["a fine film"])[0][0] in ("pos", "neg")


# --- threads ----------------------------------------------------------------------------

def test_many_python_threads_share_a_model(model, reviews):
    want = model.predict_proba(reviews)
    results, errors = [None] * 4, []

    def run(i):
        try:
            results[i] = model.predict_proba(reviews, threads=1 + i % 2)
        except BaseException as e:  # noqa: B902 - reported below
            errors.append(e)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and all(r == want for r in results)


def test_close_while_other_threads_score(model_path, reviews):
    """close() from one thread while others are inside predict: they finish or get
    ValueError, nothing crashes (the last call in progress frees the model)."""
    m = libimdb.Model(model_path)
    started, outcomes = threading.Barrier(4), []

    def run():
        started.wait()
        for _ in range(20):
            try:
                outcomes.append(len(m.predict(reviews)))
            except ValueError:
                outcomes.append("closed")
                return
    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    started.wait()
    m.close()
    for t in threads:
        t.join()
    assert m.closed and "closed" in outcomes
    assert all(o in ("closed", len(reviews)) for o in outcomes)
    del m
    gc.collect()
