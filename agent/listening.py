"""Listening TCP sockets for the servers we bind ourselves (uvicorn is handed the socket)."""

import socket


def tcp_listener(host: str, port: int, backlog: int) -> socket.socket:
    """A bound, listening socket whose connections send small writes at once.

    Without TCP_NODELAY (which accepted connections inherit), a response written in two
    parts (headers, then body) waits for the client's delayed ACK: about 40 ms each. asyncio
    would set it itself only on sockets made with ``proto=IPPROTO_TCP``; this one is both.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    return sock
