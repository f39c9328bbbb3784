#!/usr/bin/python3
"""wsgi_app.py — imdb-serve's JSON API (POST /v1/predict, GET /health) as a plain WSGI
application, over the Python package libimdb, with nothing but the standard library
(wsgiref): the same requests get the same answers as imdb-serve, byte for byte
(imdb_api.py says which messages differ).

    python3 examples/wsgi_app.py MODEL [--listen 127.0.0.1:8080] [--max-body BYTES]

make_app(MODEL) is the WSGI callable for any WSGI server (gunicorn, uwsgi, mod_wsgi):
e.g. in a module of your own, application = wsgi_app.make_app("/srv/model.bin").
wsgiref speaks HTTP/1.0 and reads bodies by Content-Length only (no chunked uploads).
"""
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import imdb_api
import libimdb

STATUS = {200: "200 OK", 400: "400 Bad Request", 404: "404 Not Found",
          405: "405 Method Not Allowed", 413: "413 Content Too Large"}


def make_app(model_path, max_body=imdb_api.MAX_BODY, threads=1):
    """The WSGI application serving model_path."""
    model = libimdb.Model(model_path)

    def route(environ):
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        if path == "/v1/predict":
            if method != "POST":
                raise imdb_api.BadRequest(imdb_api.PREDICT_NOT_ALLOWED, 405)
            imdb_api.check_length(environ.get("CONTENT_LENGTH"), max_body)
            n = int(environ.get("CONTENT_LENGTH") or 0)
            return imdb_api.predict(model, environ["wsgi.input"].read(n) if n else b"", threads)
        if path == "/health":
            if method not in ("GET", "HEAD"):
                raise imdb_api.BadRequest(imdb_api.GET_NOT_ALLOWED, 405)
            return imdb_api.health(model)
        raise imdb_api.BadRequest(imdb_api.NOT_FOUND, 404)

    def application(environ, start_response):
        headers = list(imdb_api.HEADERS)
        try:
            status, body = route(environ)
        except imdb_api.BadRequest as e:
            status, body = e.status, imdb_api.error_body(str(e))
            if status == 405:
                allow = "POST" if environ.get("PATH_INFO") == "/v1/predict" else "GET, HEAD"
                headers.append(("Allow", allow))
        headers.append(("Content-Length", str(len(body))))
        start_response(STATUS.get(status, str(status)), headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    application.model = model
    return application


class ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread per connection (the scoring releases the GIL)."""
    daemon_threads = True


def _server(host, port, app, quiet):
    return make_server(host, port, app, server_class=ThreadingServer,
                       handler_class=imdb_api.quiet_handler(WSGIRequestHandler, quiet))


def main(argv=None):
    return imdb_api.main("wsgi_app.py", __doc__, make_app, _server, argv)


if __name__ == "__main__":
    sys.exit(main())
