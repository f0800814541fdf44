#!/usr/bin/env python3
"""Host side of the aula-init protocol for tests: listen on SOCKET_PORT, send a
process spec, print the process's stdout/stderr and exit with its status.

    microvm-agent-host.py SOCKET PORT TIMEOUT ARG...
"""
import socket
import struct
import sys


def frame(kind, data=b""):
    return struct.pack("<B3xI", ord(kind), len(data)) + data


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def main():
    path, port, timeout, argv = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
    srv = socket.socket(socket.AF_UNIX)
    srv.bind("%s_%s" % (path, port))
    srv.listen(1)
    srv.settimeout(timeout)
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        print("agent-host: the guest never connected", file=sys.stderr)
        sys.exit(99)
    conn.settimeout(timeout)
    spec = b"".join(b"arg=" + a.encode() + b"\0" for a in argv) + b"uid=0\0gid=0\0hostname=aula-vm\0"
    conn.sendall(frame("S", spec) + frame("0"))
    while True:
        kind, length = struct.unpack("<B3xI", read_exact(conn, 8))
        data = read_exact(conn, length) if length else b""
        kind = chr(kind)
        if kind == "H":
            print("agent-host: hello, protocol %d" % struct.unpack("<I", data)[0], file=sys.stderr)
        elif kind == "1":
            sys.stdout.write(data.decode(errors="replace"))
        elif kind == "2":
            sys.stderr.write(data.decode(errors="replace"))
        elif kind == "X":
            err = struct.unpack("<i", data[:4])[0]
            print("agent-host: guest error %d: %s" % (err, data[4:].replace(b"\0", b" ").decode()), file=sys.stderr)
        elif kind == "E":
            sys.exit(struct.unpack("<i", data)[0])


if __name__ == "__main__":
    main()
