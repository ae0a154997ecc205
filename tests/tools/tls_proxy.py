"""A TLS-terminating TCP proxy for tests (loopback only): accepts TLS on 127.0.0.1 with the given
certificate and key, optionally requires a client certificate signed by a CA, and forwards the bytes
to an upstream host:port in plain TCP. Prints the port it listens on, then serves until killed.

usage: tls_proxy.py CERT KEY UPSTREAM_HOST:PORT [CLIENT_CA]
Standard library only (ssl, asyncio)."""
import asyncio
import ssl
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def main():
    cert, key, upstream = sys.argv[1], sys.argv[2], sys.argv[3]
    host, port = upstream.rsplit(":", 1)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    if len(sys.argv) > 4:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(sys.argv[4])

    async def handle(cr, cw):
        try:
            ur, uw = await asyncio.open_connection(host, int(port))
        except OSError:
            cw.close()
            return
        await asyncio.gather(pipe(cr, uw), pipe(ur, cw))

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
