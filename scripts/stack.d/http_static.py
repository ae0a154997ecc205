"""The stack's plain HTTP file server: aiohttp's static file handler (GET and HEAD, byte ranges answered
with 206 and Content-Range) over a folder, on 127.0.0.1. Tests put logs in the folder and read them back
through Steward as http:// URLs (object_store's HTTP store, the code https:// URLs use too).

  http_static.py PORT ROOT
"""
import sys

from aiohttp import web


def main():
    port, root = int(sys.argv[1]), sys.argv[2]
    app = web.Application()
    app.router.add_static("/", root, show_index=False, follow_symlinks=False)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
