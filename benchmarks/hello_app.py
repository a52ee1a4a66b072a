"""The baseline for the store benchmark: a trivial Flask JSON endpoint."""

from __future__ import annotations

from flask import Flask, Response, jsonify

app = Flask(__name__)


@app.get("/hello")
def hello() -> Response:
    return jsonify({"hello": "world"})
