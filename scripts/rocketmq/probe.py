#!/usr/bin/env python3
"""Minimal RocketMQ remoting probe (stdlib only).

Sends one request (default: GET_ROUTEINFO_BY_TOPIC, code 105, topic TBW102) to a name server
or broker over the RocketMQ remoting protocol and checks the response code.

Frame: 4-byte big-endian total length (= 4 + headerLen + bodyLen), 4-byte header marker
(serializeType << 24 | headerLen; 0 = JSON, 1 = ROCKETMQ binary), header, body.

Exit status: 0 = answered with the expected code (default 0 = SUCCESS) and every --expect-*
check passed; 1 = answered, but with another code or a failed check; 2 = no answer (connection
refused, timeout, malformed frame).

Examples:
  probe.py 127.0.0.1:9876                          # readiness: route of TBW102 answers SUCCESS
  probe.py 127.0.0.1:9876 --print-body             # also print the route (TopicRouteData JSON)
  probe.py 127.0.0.1:9876 --expect-broker 127.0.0.1:10911
"""
import argparse
import json
import socket
import struct
import sys

GET_ROUTEINFO_BY_TOPIC = 105
# MQVersion.Version ordinal sent in the request header (any 5.x value will do).
CLIENT_VERSION = 479


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed after %d of %d bytes" % (len(buf), n))
        buf.extend(chunk)
    return bytes(buf)


def encode_request(code, ext_fields, opaque=1, body=b""):
    header = {
        "code": code,
        "extFields": ext_fields,
        "flag": 0,
        "language": "JAVA",
        "opaque": opaque,
        "serializeTypeCurrentRPC": "JSON",
        "version": CLIENT_VERSION,
    }
    hdr = json.dumps(header, separators=(",", ":")).encode("utf-8")
    total = 4 + len(hdr) + len(body)
    return struct.pack(">II", total, (0 << 24) | len(hdr)) + hdr + body


def decode_rocketmq_binary_header(data):
    """RocketMQ's own binary header serialization (serializeType 1)."""
    code, lang, version, opaque, flag = struct.unpack_from(">hbhii", data, 0)
    pos = 13
    (rlen,) = struct.unpack_from(">i", data, pos)
    pos += 4
    remark = data[pos:pos + rlen].decode("utf-8", "replace") if rlen > 0 else None
    pos += max(rlen, 0)
    (elen,) = struct.unpack_from(">i", data, pos)
    pos += 4
    ext = {}
    end = pos + max(elen, 0)
    while pos < end:
        (klen,) = struct.unpack_from(">h", data, pos)
        pos += 2
        k = data[pos:pos + klen].decode("utf-8", "replace")
        pos += klen
        (vlen,) = struct.unpack_from(">i", data, pos)
        pos += 4
        v = data[pos:pos + vlen].decode("utf-8", "replace")
        pos += vlen
        ext[k] = v
    return {"code": code, "language": lang, "version": version, "opaque": opaque,
            "flag": flag, "remark": remark, "extFields": ext}


def request(host, port, code, ext_fields, timeout):
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(encode_request(code, ext_fields))
        (total,) = struct.unpack(">I", recv_exact(sock, 4))
        if total < 4 or total > 64 * 1024 * 1024:
            raise ValueError("implausible frame length %d" % total)
        frame = recv_exact(sock, total)
    (marker,) = struct.unpack_from(">I", frame, 0)
    stype, hlen = marker >> 24, marker & 0xFFFFFF
    if 4 + hlen > total:
        raise ValueError("header length %d exceeds frame length %d" % (hlen, total))
    hdr_bytes, body = frame[4:4 + hlen], frame[4 + hlen:]
    if stype == 0:
        header = json.loads(hdr_bytes.decode("utf-8"))
    elif stype == 1:
        header = decode_rocketmq_binary_header(hdr_bytes)
    else:
        raise ValueError("unknown serialize type %d" % stype)
    return header, body


def broker_addrs(route):
    """All broker addresses listed in a TopicRouteData JSON object."""
    out = []
    for bd in route.get("brokerDatas") or []:
        for _bid, addr in sorted((bd.get("brokerAddrs") or {}).items()):
            out.append(addr)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("addr", help="host:port of the name server (or broker)")
    ap.add_argument("--topic", default="TBW102")
    ap.add_argument("--code", type=int, default=GET_ROUTEINFO_BY_TOPIC, help="request code (default 105)")
    ap.add_argument("--expect-code", type=int, default=0, help="response code that counts as success")
    ap.add_argument("--timeout", type=float, default=3.0, help="seconds for connect and read")
    ap.add_argument("--print-header", action="store_true", help="print the response header JSON")
    ap.add_argument("--print-body", action="store_true", help="print the response body (pretty JSON if it parses)")
    ap.add_argument("--expect-broker", action="append", default=[], metavar="HOST:PORT",
                    help="route body must list exactly these broker addresses (repeatable)")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args()

    host, _, port = a.addr.rpartition(":")
    if not host or not port.isdigit():
        print("probe: bad address %r (want host:port)" % a.addr, file=sys.stderr)
        return 2
    ext = {"topic": a.topic, "acceptStandardJsonOnly": "true"} if a.code == GET_ROUTEINFO_BY_TOPIC else {}
    try:
        header, body = request(host, int(port), a.code, ext, a.timeout)
    except (OSError, ValueError, struct.error) as e:
        if not a.quiet:
            print("probe: %s: no answer: %s" % (a.addr, e), file=sys.stderr)
        return 2

    code = header.get("code")
    if a.print_header:
        print(json.dumps(header, indent=2, sort_keys=True))
    route = None
    if body:
        try:
            route = json.loads(body.decode("utf-8"))
        except ValueError:
            route = None
    if a.print_body and body:
        print(json.dumps(route, indent=2, sort_keys=True) if route is not None else body.decode("utf-8", "replace"))

    if code != a.expect_code:
        if not a.quiet:
            print("probe: %s answered code %s (want %s), remark: %s"
                  % (a.addr, code, a.expect_code, header.get("remark")), file=sys.stderr)
        return 1
    if a.expect_broker:
        got = broker_addrs(route) if isinstance(route, dict) else []
        if sorted(got) != sorted(a.expect_broker):
            if not a.quiet:
                print("probe: route of %s lists brokers %s, want %s" % (a.topic, got, a.expect_broker),
                      file=sys.stderr)
            return 1
    if not a.quiet and not (a.print_body or a.print_header):
        print("probe: %s answered code %s" % (a.addr, code))
    return 0


if __name__ == "__main__":
    sys.exit(main())
