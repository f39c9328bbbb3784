/* libimdb.c — the Python module `libimdb`: imdb's sentiment models from Python, over the
 * public C API (lib/api/imdb.h) and nothing else of the library. This file is the
 * extension libimdb._libimdb; the package libimdb (python/libimdb/__init__.py, with its
 * type stubs and py.typed marker, PEP 561) re-exports everything it defines.
 *
 *     import libimdb
 *     with libimdb.Model("nblr.model") as m:
 *         m.predict(["a wonderful film", "dull and too long"])
 *         # [('pos', 0.794115...), ('neg', 0.224284...)]
 *
 * The module is called libimdb, not imdb: cinemagoer (IMDbPY) installs a module `imdb`.
 *
 * Why it is written this way:
 * - Scoring runs with the GIL released (Py_BEGIN_ALLOW_THREADS around imdb_score_batch
 *   and imdb_explain), so other Python threads run meanwhile and Model.predict can itself
 *   use several threads (imdb_score_batch's nthreads). Before the GIL is released the
 *   texts are pinned: the sequence is turned into a tuple of its own (a new strong
 *   reference to every str, so another thread changing the caller's list cannot free a
 *   text under us), and each str's UTF-8 form is taken with PyUnicode_AsUTF8AndSize,
 *   which lives inside the immutable str object as long as the str does. No text bytes
 *   are copied, and nothing of Python is touched while the GIL is released.
 * - imdb_model_close must not overlap another call on the model (imdb.h). A Model
 *   therefore counts the calls in progress (under the GIL); close() from another thread
 *   while a predict is running marks the Model closed at once (later calls raise
 *   ValueError) and the last call to finish frees the C model.
 * - Errors become the exceptions a Python programmer expects: a file that cannot be
 *   opened is an OSError with its errno (FileNotFoundError, PermissionError,
 *   IsADirectoryError), a corrupt or foreign model libimdb.DataError (a ValueError), an
 *   argument the library refuses libimdb.UsageError (a ValueError), out of memory
 *   MemoryError, anything else libimdb.InternalError (a RuntimeError); the message is the
 *   library's one line.
 * - Texts are str. bytes are refused with a TypeError naming the item (decode them
 *   first: imdb-predict's byte-level cleaning of invalid UTF-8 is what
 *   bytes.decode('utf-8', 'replace') approximates); a str that has no UTF-8 form (lone
 *   surrogates, e.g. from os.fsdecode of a non-UTF-8 name) raises UnicodeEncodeError (a
 *   ValueError) with a note naming the item. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imdb.h"

/* The exception classes, created once at import (single-phase init: one interpreter). */
static PyObject *Error, *DataError, *UsageError, *InternalError;

/* A Model: one open C model and the calls in progress on it. */
typedef struct {
    PyObject_HEAD
    imdb_model *model;   /* NULL once closed and no call is in progress */
    int closed;          /* close() was called: new calls raise ValueError */
    int active;          /* calls in progress with the GIL released (under the GIL) */
    int threads;         /* the default for predict's threads= (imdb_score_batch's) */
    PyObject *path;      /* str, as given (after os.fspath) */
    PyObject *info;      /* dict of imdb_model_info, copied at open */
    PyObject *kind;      /* str, info["kind"] */
    double threshold;    /* info["threshold"]: the model's decision threshold */
} ModelObject;

/* Raise the exception for a failed library call (status st, message from err). */
static void raise_status(imdb_status st, const imdb_error *err)
{
    const char *msg = err && err->message[0] ? err->message : imdb_status_string(st);
    PyObject *type;
    switch (st) {
    case IMDB_ERR_NOMEM: PyErr_SetString(PyExc_MemoryError, msg); return;
    case IMDB_ERR_DATA: type = DataError; break;
    case IMDB_ERR_USAGE: type = UsageError; break;
    case IMDB_ERR_IO: type = PyExc_OSError; break;
    default: type = InternalError; break;
    }
    PyObject *exc = PyObject_CallFunction(type, "s", msg);
    if (!exc) return;
    if (type != PyExc_OSError) {
        PyObject *code = PyLong_FromLong((long)st);
        if (!code || PyObject_SetAttrString(exc, "status", code) < 0) {
            Py_XDECREF(code);
            Py_DECREF(exc);
            return;
        }
        Py_DECREF(code);
    }
    PyErr_SetObject(type, exc);
    Py_DECREF(exc);
}

/* imdb_model_open failed with IO on path: find the errno, so that Python picks the
 * OSError subclass (FileNotFoundError, PermissionError, IsADirectoryError). The library
 * reports the failure as a message only, so the file is probed again here: open(2) and
 * fstat(2) give the errno of the usual cases; if the file opens now, the library's
 * message is raised as a plain OSError. */
static void raise_open_error(PyObject *path, const char *cpath, const imdb_error *err)
{
    int e = 0;
    int fd = open(cpath, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        e = errno;
    } else {
        struct stat sb;
        if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) e = EISDIR;
        close(fd);
    }
    if (e == 0) {
        raise_status(IMDB_ERR_IO, err);
        return;
    }
    /* OSError(errno, strerror, filename) is what the constructor maps to a subclass. */
    PyObject *exc = PyObject_CallFunction(PyExc_OSError, "isO", e, strerror(e), path);
    if (!exc) return;
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
}

/* threads= as an int >= 0 (0: one per core). None leaves *out unchanged. */
static int parse_threads(PyObject *obj, int *out)
{
    if (obj == NULL || obj == Py_None) return 0;
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "threads must be an int, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    long v = PyLong_AsLong(obj);
    if (v == -1 && PyErr_Occurred()) return -1;
    if (v < 0 || v > 4096) {
        PyErr_Format(PyExc_ValueError,
                     "threads must be 0 (one per core) to 4096, not %ld", v);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* The UTF-8 bytes of text (a str), for the item named what (index i, or -1 for
 * "text"). The pointer lives as long as text does. */
static const char *text_utf8(PyObject *text, Py_ssize_t i, Py_ssize_t *len)
{
    if (!PyUnicode_Check(text)) {
        if (i < 0)
            PyErr_Format(PyExc_TypeError, "text must be str, not %.100s%s",
                         Py_TYPE(text)->tp_name,
                         PyBytes_Check(text) || PyByteArray_Check(text)
                             ? " (decode it first, e.g. b.decode('utf-8', 'replace'))" : "");
        else
            PyErr_Format(PyExc_TypeError, "texts[%zd] must be str, not %.100s%s", i,
                         Py_TYPE(text)->tp_name,
                         PyBytes_Check(text) || PyByteArray_Check(text)
                             ? " (decode it first, e.g. b.decode('utf-8', 'replace'))" : "");
        return NULL;
    }
    const char *s = PyUnicode_AsUTF8AndSize(text, len);
    if (s == NULL && PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
        /* Keep the UnicodeEncodeError (its position and reason are exact), naming the
         * item in a note (PEP 678), shown under the traceback. */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        PyObject *note = i < 0
            ? PyUnicode_FromString("text has no UTF-8 form (a lone surrogate?)")
            : PyUnicode_FromFormat("texts[%zd] has no UTF-8 form (a lone surrogate?)", i);
        if (note && value) {
            PyObject *r = PyObject_CallMethod(value, "add_note", "O", note);
            if (r) Py_DECREF(r);
            else PyErr_Clear();
        }
        Py_XDECREF(note);
        PyErr_Restore(type, value, tb);
    }
    return s;
}

/* A call on the model starts: ValueError if closed, else one more call in progress. */
static int model_enter(ModelObject *self)
{
    if (self->closed || !self->model) {
        PyErr_SetString(PyExc_ValueError, self->closed ? "I/O operation on closed model"
                                                       : "Model.__init__ was not called");
        return -1;
    }
    self->active++;
    return 0;
}

/* A call ends (GIL held): the last one after a close() frees the C model. */
static void model_leave(ModelObject *self)
{
    if (--self->active == 0 && self->closed && self->model) {
        imdb_model *m = self->model;
        self->model = NULL;
        imdb_model_close(m);
    }
}

/* ---------------------------------------------------------------------------------- */

static int Model_init(ModelObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"path", "threads", NULL};
    PyObject *path_arg, *threads_obj = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:Model", kwlist, &path_arg,
                                     &threads_obj))
        return -1;
    if (self->model || self->path) {
        PyErr_SetString(PyExc_RuntimeError, "Model.__init__ called twice");
        return -1;
    }
    int threads = 1;
    if (parse_threads(threads_obj, &threads) < 0) return -1;

    /* path: str or os.PathLike (bytes paths too), encoded as the OS wants. */
    PyObject *bpath = NULL;
    if (!PyUnicode_FSConverter(path_arg, &bpath)) return -1;
    PyObject *spath = PyOS_FSPath(path_arg);
    if (!spath) {
        Py_DECREF(bpath);
        return -1;
    }
    const char *cpath = PyBytes_AS_STRING(bpath);

    imdb_model *m = NULL;
    imdb_error err;
    err.message[0] = '\0';
    imdb_status st;
    Py_BEGIN_ALLOW_THREADS
    st = imdb_model_open(cpath, &m, &err);
    Py_END_ALLOW_THREADS
    if (st != IMDB_OK) {
        if (st == IMDB_ERR_IO) raise_open_error(spath, cpath, &err);
        else raise_status(st, &err);
        Py_DECREF(bpath);
        Py_DECREF(spath);
        return -1;
    }
    Py_DECREF(bpath);

    imdb_model_info info;
    st = imdb_model_info_get(m, &info, &err);
    if (st != IMDB_OK) {
        raise_status(st, &err);
        imdb_model_close(m);
        Py_DECREF(spath);
        return -1;
    }
    double threshold = imdb_model_threshold(m);
    PyObject *d = Py_BuildValue("{s:s,s:s,s:s,s:O,s:d,s:d}",
                                "kind", info.kind ? info.kind : "",
                                "params", info.params ? info.params : "",
                                "clean", info.clean ? info.clean : "",
                                "can_explain", info.can_explain ? Py_True : Py_False,
                                "load_seconds", info.load_seconds,
                                "threshold", threshold);
    if (!d) {
        imdb_model_close(m);
        Py_DECREF(spath);
        return -1;
    }
    self->kind = PyDict_GetItemString(d, "kind");
    Py_INCREF(self->kind);
    self->info = d;
    self->path = spath;
    self->model = m;
    self->threads = threads;
    self->threshold = threshold;
    self->closed = 0;
    self->active = 0;
    return 0;
}

static void Model_dealloc(ModelObject *self)
{
    /* No call can be in progress: each one holds a reference to self. */
    if (self->model) imdb_model_close(self->model);
    Py_XDECREF(self->path);
    Py_XDECREF(self->info);
    Py_XDECREF(self->kind);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Score texts (a sequence of str) into a new array of probabilities (PyMem_Free it). */
static double *score_texts(ModelObject *self, PyObject *texts, PyObject *threads_obj,
                           Py_ssize_t *n_out)
{
    int threads = self->threads;
    if (parse_threads(threads_obj, &threads) < 0) return NULL;
    if (texts == Py_None) {
        PyErr_SetString(PyExc_TypeError, "texts must be a list of str, not None");
        return NULL;
    }
    if (PyUnicode_Check(texts) || PyBytes_Check(texts) || PyByteArray_Check(texts)) {
        /* A str is a sequence of 1-character strs: refuse the common slip predict(text). */
        PyErr_Format(PyExc_TypeError,
                     "texts must be a list of str, not %.100s (for one text: [text])",
                     Py_TYPE(texts)->tp_name);
        return NULL;
    }
    if (model_enter(self) < 0) return NULL;

    const char **ptrs = NULL;
    size_t *lens = NULL;
    double *probs = NULL;
    /* A tuple of our own: strong references that nobody else can change. */
    /* Only "not iterable" is reworded: an error raised while iterating (a generator's
     * own TypeError) is the caller's and passes unchanged. */
    PyObject *tup = NULL, *it = PyObject_GetIter(texts);
    if (!it) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "texts must be a list of str, not %.100s",
                         Py_TYPE(texts)->tp_name);
        }
        goto fail;
    }
    Py_DECREF(it);   /* a list's or tuple's is thrown away; a generator is its own */
    tup = PySequence_Tuple(texts);
    if (!tup) goto fail;
    Py_ssize_t n = PyTuple_GET_SIZE(tup);
    size_t alloc = n > 0 ? (size_t)n : 1;
    ptrs = PyMem_New(const char *, alloc);
    lens = PyMem_New(size_t, alloc);
    probs = PyMem_New(double, alloc);
    if (!ptrs || !lens || !probs) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t len;
        const char *s = text_utf8(PyTuple_GET_ITEM(tup, i), i, &len);
        if (!s) goto fail;
        ptrs[i] = s;
        lens[i] = (size_t)len;
    }
    if (n > 0) {
        imdb_error err;
        err.message[0] = '\0';
        imdb_status st;
        imdb_model *m = self->model;
        Py_BEGIN_ALLOW_THREADS
        st = imdb_score_batch(m, ptrs, lens, (size_t)n, probs, threads, &err);
        Py_END_ALLOW_THREADS
        if (st != IMDB_OK) {
            raise_status(st, &err);
            goto fail;
        }
    }
    PyMem_Free(ptrs);
    PyMem_Free(lens);
    Py_DECREF(tup);
    model_leave(self);
    *n_out = n;
    return probs;

fail:
    PyMem_Free(ptrs);
    PyMem_Free(lens);
    PyMem_Free(probs);
    Py_XDECREF(tup);
    model_leave(self);
    return NULL;
}

static PyObject *Model_predict_proba(ModelObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"texts", "threads", NULL};
    PyObject *texts, *threads_obj = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:predict_proba", kwlist, &texts,
                                     &threads_obj))
        return NULL;
    Py_ssize_t n;
    double *probs = score_texts(self, texts, threads_obj, &n);
    if (!probs) return NULL;
    PyObject *list = PyList_New(n);
    for (Py_ssize_t i = 0; list && i < n; i++) {
        PyObject *f = PyFloat_FromDouble(probs[i]);
        if (!f) Py_CLEAR(list);
        else PyList_SET_ITEM(list, i, f);
    }
    PyMem_Free(probs);
    return list;
}

static PyObject *Model_predict(ModelObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"texts", "threads", "threshold", NULL};
    PyObject *texts, *threads_obj = NULL, *threshold_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O$O:predict", kwlist, &texts,
                                     &threads_obj, &threshold_obj))
        return NULL;
    double threshold = self->threshold;
    if (threshold_obj != Py_None && (threshold = PyFloat_AsDouble(threshold_obj)) == -1 &&
        PyErr_Occurred())
        return NULL;
    if (!(threshold >= 0 && threshold <= 1)) {
        char buf[64];
        snprintf(buf, sizeof buf, "%g", threshold);
        PyErr_Format(PyExc_ValueError, "threshold must be in [0, 1], not %s", buf);
        return NULL;
    }
    Py_ssize_t n;
    double *probs = score_texts(self, texts, threads_obj, &n);
    if (!probs) return NULL;
    PyObject *pos = PyUnicode_InternFromString("pos");
    PyObject *neg = PyUnicode_InternFromString("neg");
    PyObject *list = pos && neg ? PyList_New(n) : NULL;
    for (Py_ssize_t i = 0; list && i < n; i++) {
        PyObject *t = Py_BuildValue("(Od)", probs[i] >= threshold ? pos : neg, probs[i]);
        if (!t) Py_CLEAR(list);
        else PyList_SET_ITEM(list, i, t);
    }
    Py_XDECREF(pos);
    Py_XDECREF(neg);
    PyMem_Free(probs);
    return list;
}

static PyObject *Model_explain(ModelObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"text", "k", NULL};
    PyObject *text;
    int k = 5;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|i:explain", kwlist, &text, &k))
        return NULL;
    if (k < 1 || k > 1000) {
        PyErr_Format(PyExc_ValueError, "k must be 1 to 1000, not %d", k);
        return NULL;
    }
    if (text == Py_None) {
        PyErr_SetString(PyExc_TypeError, "text must be str, not None");
        return NULL;
    }
    if (model_enter(self) < 0) return NULL;
    PyObject *result = NULL, *list = NULL;
    imdb_contrib *c = NULL;
    size_t nc = 0;
    /* Our own reference, in case the argument is the last one elsewhere. */
    Py_INCREF(text);
    Py_ssize_t len;
    const char *s = text_utf8(text, -1, &len);
    if (!s) goto done;
    imdb_error err;
    err.message[0] = '\0';
    imdb_status st;
    double prob = 0;
    imdb_model *m = self->model;
    Py_BEGIN_ALLOW_THREADS
    st = imdb_explain(m, s, (size_t)len, k, &prob, &c, &nc, &err);
    Py_END_ALLOW_THREADS
    if (st != IMDB_OK) {
        raise_status(st, &err);
        goto done;
    }
    list = PyList_New((Py_ssize_t)nc);
    if (!list) goto done;
    for (size_t i = 0; i < nc; i++) {
        PyObject *t = Py_BuildValue("(s d)", c[i].ngram, c[i].weight);
        if (!t) goto done;
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    result = Py_BuildValue("(dO)", prob, list);
done:
    Py_XDECREF(list);
    if (c) imdb_contrib_free(c, nc);
    Py_DECREF(text);
    model_leave(self);
    return result;
}

static PyObject *Model_close(ModelObject *self, PyObject *Py_UNUSED(ignored))
{
    /* A second close() is a no-op, as for files. With calls in progress (other threads)
     * the last of them frees the model. */
    self->closed = 1;
    if (self->active == 0 && self->model) {
        imdb_model *m = self->model;
        self->model = NULL;
        imdb_model_close(m);
    }
    Py_RETURN_NONE;
}

static PyObject *Model_verify(ModelObject *self, PyObject *Py_UNUSED(ignored))
{
    if (model_enter(self) < 0) return NULL;
    imdb_error err;
    err.message[0] = '\0';
    imdb_status st;
    imdb_model *m = self->model;
    Py_BEGIN_ALLOW_THREADS
    st = imdb_model_verify(m, &err);
    Py_END_ALLOW_THREADS
    model_leave(self);
    if (st != IMDB_OK) {
        raise_status(st, &err);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *Model_enter(ModelObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->closed) {
        PyErr_SetString(PyExc_ValueError, "I/O operation on closed model");
        return NULL;
    }
    Py_INCREF(self);
    return (PyObject *)self;
}

static PyObject *Model_exit(ModelObject *self, PyObject *Py_UNUSED(args))
{
    PyObject *r = Model_close(self, NULL);
    if (!r) return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyObject *Model_get_kind(ModelObject *self, void *Py_UNUSED(closure))
{
    if (self->closed || !self->kind) {
        PyErr_SetString(PyExc_ValueError, self->closed ? "I/O operation on closed model"
                                                       : "Model.__init__ was not called");
        return NULL;
    }
    Py_INCREF(self->kind);
    return self->kind;
}

static PyObject *Model_get_info(ModelObject *self, void *Py_UNUSED(closure))
{
    if (self->closed || !self->info) {
        PyErr_SetString(PyExc_ValueError, self->closed ? "I/O operation on closed model"
                                                       : "Model.__init__ was not called");
        return NULL;
    }
    return PyDict_Copy(self->info);   /* the caller may change its copy */
}

static PyObject *Model_get_closed(ModelObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->closed || !self->model);
}

static PyObject *Model_get_threads(ModelObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(self->threads);
}

static PyObject *Model_get_path(ModelObject *self, void *Py_UNUSED(closure))
{
    if (!self->path) Py_RETURN_NONE;
    Py_INCREF(self->path);
    return self->path;
}

static PyObject *Model_repr(ModelObject *self)
{
    if (!self->path) return PyUnicode_FromString("<libimdb.Model (not opened)>");
    if (self->closed || !self->model)
        return PyUnicode_FromFormat("<libimdb.Model %R closed>", self->path);
    return PyUnicode_FromFormat("<libimdb.Model %R kind=%R>", self->path, self->kind);
}

PyDoc_STRVAR(predict_doc,
"predict($self, /, texts, threads=None, *, threshold=None)\n--\n\n"
"-> list[tuple[str, float]]\n"
"\n"
"Score raw texts: one (label, probability) tuple per text, in order. label is 'pos'\n"
"when probability >= threshold (None: the threshold the model stores, 0.5 unless\n"
"imdb-train chose one; see Model.threshold), else 'neg'; probability is P(pos), the number\n"
"imdb-predict prints (before its rounding to six decimals).\n"
"\n"
"texts is a list (or any iterable) of str; each is cleaned and tokenized as the\n"
"model's training data was. threads: how many threads score the batch (0: one per\n"
"core; None: the Model's threads=). The result does not depend on threads. The GIL is\n"
"released while scoring.\n"
"\n"
"Raises TypeError for texts that is not an iterable of str (bytes items included:\n"
"decode them first), UnicodeEncodeError for a str with lone surrogates, ValueError\n"
"on a closed model.");

PyDoc_STRVAR(predict_proba_doc,
"predict_proba($self, /, texts, threads=None)\n--\n\n"
"-> list[float]\n"
"\n"
"P(pos) of each text, in order: predict() without the labels.");

PyDoc_STRVAR(explain_doc,
"explain($self, /, text, k=5)\n--\n\n"
"-> tuple[float, list[tuple[str, float]]]\n"
"\n"
"P(pos) of one text and the (up to) k n-grams that weighed most, by |weight|\n"
"descending, as (ngram, weight) pairs: ngram is its tokens joined by spaces, weight\n"
"what it adds to the logit (> 0 pushes towards pos). k is 1 to 1000. Kinds that cannot\n"
"explain (info['can_explain'] is False) raise libimdb.UsageError.");

PyDoc_STRVAR(close_doc,
"close($self, /)\n--\n\n"
"Free the model. Later calls raise ValueError; closing again does nothing. If other\n"
"threads are scoring with the model, it is freed when the last of them finishes.");

PyDoc_STRVAR(verify_doc,
"verify($self, /)\n--\n\n"
"Check every section's checksum at once (imdb-predict --verify); raises\n"
"libimdb.DataError if one does not match. Sections are otherwise checked when first\n"
"used.");

static PyMethodDef Model_methods[] = {
    {"predict", (PyCFunction)(void (*)(void))Model_predict, METH_VARARGS | METH_KEYWORDS,
     predict_doc},
    {"predict_proba", (PyCFunction)(void (*)(void))Model_predict_proba,
     METH_VARARGS | METH_KEYWORDS, predict_proba_doc},
    {"explain", (PyCFunction)(void (*)(void))Model_explain, METH_VARARGS | METH_KEYWORDS,
     explain_doc},
    {"verify", (PyCFunction)Model_verify, METH_NOARGS, verify_doc},
    {"close", (PyCFunction)Model_close, METH_NOARGS, close_doc},
    {"__enter__", (PyCFunction)Model_enter, METH_NOARGS, "Return the model itself."},
    {"__exit__", (PyCFunction)Model_exit, METH_VARARGS, "Close the model."},
    {NULL, NULL, 0, NULL}
};

static PyObject *Model_get_threshold(ModelObject *self, void *Py_UNUSED(closure))
{
    return PyFloat_FromDouble(self->threshold);
}

static PyGetSetDef Model_getset[] = {
    {"kind", (getter)Model_get_kind, NULL,
     "The model's kind: 'nblr', 'dvcos', 'ensemble', 'mlp', 'cnn', 'lstm' or 'bilstm'.",
     NULL},
    {"info", (getter)Model_get_info, NULL,
     "What the model file holds, a new dict: kind (str), params (the training settings,\n"
     "'key = value' lines), clean (the cleaning settings), can_explain (bool),\n"
     "load_seconds (float, how long opening took), threshold (float, the stored decision\n"
     "threshold).", NULL},
    {"closed", (getter)Model_get_closed, NULL, "True once close() was called.", NULL},
    {"threads", (getter)Model_get_threads, NULL,
     "The default threads= of predict() and predict_proba().", NULL},
    {"path", (getter)Model_get_path, NULL, "The path the model was opened from.", NULL},
    {"threshold", (getter)Model_get_threshold, NULL,
     "The decision threshold the model stores (imdb-train -o threshold=auto|X; 0.5 for a\n"
     "model trained without one): predict()'s default.", NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

PyDoc_STRVAR(Model_doc,
"Model(path, threads=1)\n--\n\n"
"A sentiment model trained by imdb-train (any kind), opened from the file at path\n"
"(str, bytes or os.PathLike). The file is mapped, not read, so opening is fast.\n"
"threads is the default number of threads predict() uses (0: one per core).\n"
"\n"
"Use it as a context manager to close it:\n"
"\n"
"    with libimdb.Model('nblr.model') as m:\n"
"        m.predict(['a wonderful film'])   # [('pos', 0.79...)]\n"
"\n"
"Raises FileNotFoundError (or another OSError) when the file cannot be opened and\n"
"libimdb.DataError (a ValueError) when it is not a valid imdb model. All methods may\n"
"be called from several threads at once.");

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "libimdb.Model",
    .tp_basicsize = sizeof(ModelObject),
    .tp_dealloc = (destructor)Model_dealloc,
    .tp_repr = (reprfunc)Model_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = Model_doc,
    .tp_methods = Model_methods,
    .tp_getset = Model_getset,
    .tp_init = (initproc)Model_init,
    .tp_new = PyType_GenericNew,
};

PyDoc_STRVAR(module_doc,
"libimdb: score movie reviews with the sentiment models of imdb (imdb-train).\n"
"\n"
"    import libimdb\n"
"    with libimdb.Model('nblr.model') as m:\n"
"        m.predict(['a wonderful film', 'dull and too long'])\n"
"        # [('pos', 0.794115...), ('neg', 0.224284...)]\n"
"        m.explain('not bad at all', k=3)\n"
"\n"
"The C library libimdb (imdb(3)) does the work; the GIL is released while it scores.\n"
"Exceptions: libimdb.Error is the base of DataError (a corrupt or foreign model file;\n"
"also a ValueError), UsageError (an argument the library refuses; also a ValueError)\n"
"and InternalError (also a RuntimeError); each has .status, the library's status\n"
"number. A file that cannot be opened raises OSError (FileNotFoundError, ...), out of\n"
"memory MemoryError.");

static struct PyModuleDef libimdb_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "libimdb._libimdb",
    .m_doc = module_doc,
    .m_size = -1,
};

/* A new exception class libimdb.<name> with the given bases and docstring. */
static PyObject *add_exception(PyObject *mod, const char *name, const char *doc,
                               PyObject *bases)
{
    char full[64];
    snprintf(full, sizeof full, "libimdb.%s", name);
    PyObject *e = PyErr_NewExceptionWithDoc(full, doc, bases, NULL);
    if (!e) return NULL;
    if (PyModule_AddObjectRef(mod, name, e) < 0) {
        Py_DECREF(e);
        return NULL;
    }
    return e;
}

PyMODINIT_FUNC PyInit__libimdb(void)
{
    if (PyType_Ready(&ModelType) < 0) return NULL;
    PyObject *m = PyModule_Create(&libimdb_module);
    if (!m) return NULL;
    PyObject *bases = NULL;
    if (!(Error = add_exception(m, "Error",
            "Base class of the errors libimdb reports (.status: the library's status).",
            NULL)))
        goto fail;
    if (!(bases = PyTuple_Pack(2, Error, PyExc_ValueError))) goto fail;
    if (!(DataError = add_exception(m, "DataError",
            "A model file that is corrupt, truncated, foreign or newer.", bases)))
        goto fail;
    if (!(UsageError = add_exception(m, "UsageError",
            "An argument the library refuses (e.g. explain on a kind that cannot).",
            bases)))
        goto fail;
    Py_CLEAR(bases);
    if (!(bases = PyTuple_Pack(2, Error, PyExc_RuntimeError))) goto fail;
    if (!(InternalError = add_exception(m, "InternalError",
            "A bug or a resource limit in the library (threads could not be started).",
            bases)))
        goto fail;
    Py_CLEAR(bases);
    if (PyModule_AddObjectRef(m, "Model", (PyObject *)&ModelType) < 0) goto fail;
    if (PyModule_AddStringConstant(m, "__version__", imdb_version()) < 0) goto fail;
    return m;
fail:
    Py_XDECREF(bases);
    Py_DECREF(m);
    return NULL;
}
