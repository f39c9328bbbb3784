#!/usr/bin/python3
"""flask_app.py — imdb-serve's JSON API (POST /v1/predict, GET /health) in Flask, over
the Python package libimdb: the same requests get the same answers, byte for byte
(imdb_api.py says which messages differ).

    python3 examples/flask_app.py MODEL [--listen 127.0.0.1:8080] [--max-body BYTES]
    IMDB_MODEL=MODEL flask --app examples/flask_app run      # Flask's own runner

    curl -s -d '{"text": "A wonderful, moving film."}' http://127.0.0.1:8080/v1/predict

Debian packages: python3-flask, and python3-libimdb (or the module built in a source tree
on PYTHONPATH). The model is opened once, when the app is made; requests are handled on
threads (the scoring releases the GIL).
"""
import os
import sys

from flask import Flask, Response, request

import imdb_api
import libimdb


def create_app(model_path=None, max_body=imdb_api.MAX_BODY, threads=1):
    """The Flask app serving model_path (default: the environment's IMDB_MODEL)."""
    model = libimdb.Model(model_path or os.environ["IMDB_MODEL"])
    app = Flask(__name__)

    def answer(status, body, **headers):
        resp = Response(body, status=status)
        for name, value in imdb_api.HEADERS + list(headers.items()):
            resp.headers[name] = value
        return resp

    def error(e, **headers):
        return answer(e.status, imdb_api.error_body(str(e)), **headers)

    @app.route("/v1/predict", methods=["POST"], provide_automatic_options=False)
    def predict():
        try:
            imdb_api.check_length(request.headers.get("Content-Length"), max_body)
            body = request.stream.read(max_body + 1)    # chunked bodies too
            if len(body) > max_body:
                raise imdb_api.too_big(max_body)
        except imdb_api.BadRequest as e:
            # The rest of the body is not read: the connection cannot be reused.
            return error(e, Connection="close")
        return answer(*imdb_api.predict(model, body, threads))

    @app.route("/health", methods=["GET"], provide_automatic_options=False)
    def health():
        return answer(*imdb_api.health(model))

    @app.errorhandler(404)
    def not_found(_):
        return error(imdb_api.BadRequest(imdb_api.NOT_FOUND, 404))

    @app.errorhandler(405)
    def not_allowed(_):
        if request.path == "/v1/predict":
            return error(imdb_api.BadRequest(imdb_api.PREDICT_NOT_ALLOWED, 405), Allow="POST")
        return error(imdb_api.BadRequest(imdb_api.GET_NOT_ALLOWED, 405), Allow="GET, HEAD")

    app.config["IMDB_MODEL"] = model
    return app


def _server(host, port, app, quiet):
    from werkzeug.serving import WSGIRequestHandler, make_server
    return make_server(host, port, app, threaded=True,
                       request_handler=imdb_api.quiet_handler(WSGIRequestHandler, quiet))


def main(argv=None):
    return imdb_api.main("flask_app.py", __doc__, create_app, _server, argv)


if __name__ == "__main__":
    sys.exit(main())
