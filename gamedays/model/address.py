"""A server's address as written: ``host:port``, ``[v6]:port``, or a host alone (the default port)."""

from __future__ import annotations


def host_port(text: str, default_port: int) -> tuple[str, int]:
    """``text`` as (host, port): ``host:port``, ``[v6]:port``, ``host``, ``[v6]`` or a bare IPv6 address.

    Blanks around it are ignored; a host without a port has ``default_port``. The host is
    not checked (it may be a name or an address). ValueError when the host is empty, a
    bracket is not closed or is followed by anything but ``:port``, or the port is not a
    number of 1-65535.
    """
    stripped = text.strip()
    port_text: str | None = None
    if stripped.startswith("["):
        host, closed, rest = stripped[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r} is not [address]:port")
        port_text = rest[1:] if rest else None
    elif stripped.count(":") == 1:
        host, port_text = stripped.split(":")
    else:  # a host alone, or a bare IPv6 address
        host = stripped
    if not host:
        raise ValueError(f"{text!r} names no host")
    if port_text is None:
        return host, default_port
    if not (port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536):
        raise ValueError(f"{text!r} has no port of 1-65535")
    return host, int(port_text)
