"""libimdb: score movie reviews with the sentiment models of imdb (imdb-train).

    import libimdb
    with libimdb.Model("nblr.model") as m:
        m.predict(["a wonderful film", "dull and too long"])
        # [('pos', 0.794115...), ('neg', 0.224284...)]
        m.predict_proba(["a wonderful film"])      # [0.794115...]
        m.explain("not bad at all", k=3)           # (P(pos), [(ngram, weight), ...])

The C library libimdb (imdb(3)) does the work, in the extension libimdb._libimdb; the
GIL is released while it scores, and predict(texts, threads=N) scores a batch on N
threads. Texts are str (decode bytes first).

Exceptions: a file that cannot be opened raises OSError (FileNotFoundError,
PermissionError, IsADirectoryError); libimdb.Error is the base of DataError (a corrupt,
truncated or foreign model file; also a ValueError), UsageError (an argument the library
refuses; also a ValueError) and InternalError (also a RuntimeError), each with .status,
the library's status number; out of memory raises MemoryError. A closed Model raises
ValueError; closing it again does nothing.
"""
from ._libimdb import DataError, Error, InternalError, Model, UsageError, __version__

__all__ = ["Model", "Error", "DataError", "UsageError", "InternalError", "__version__"]
