#!/usr/bin/env python3
"""Minimal RocketMQ remoting probe (stdlib only).

Sends one request (default: GET_ROUTEINFO_BY_TOPIC, code 105, topic TBW102) to a name server
or broker over the RocketMQ remoting protocol and checks the response code.

Frame: 4-byte big-endian total length (= 4 + headerLen + bodyLen), 4-byte header marker
(serializeType << 24 | headerLen; 0 = JSON, 1 = ROCKETMQ binary), header, body.

TLS (--tls / --tls-dir): the request goes over TLS (Python ssl). --tls-dir DIR trusts DIR/ca.pem
(chain and host name checked against the address given) and presents DIR/client.pem +
DIR/client.key, as written by `scripts/rocketmq-local start --tls`; --tls-ca / --tls-cert /
--tls-key override single files, --tls-no-cert presents no client certificate, and --tls without
a CA does not verify the server at all.

ACL 2.0 signing (--access-key/--secret-key): adds ext field AccessKey and Signature =
base64(HmacSHA1(secretKey, values of all other ext fields sorted by key, concatenated, + body)),
as org.apache.rocketmq.acl.common.AclClientRPCHook does. The name server does not check it.

Exit status: 0 = answered with the expected code (default 0 = SUCCESS) and every --expect-*
check passed; 1 = answered, but with another code or a failed check; 2 = no answer (connection
refused or closed, TLS handshake refused, timeout, malformed frame).

Examples:
  probe.py 127.0.0.1:9876                          # readiness: route of TBW102 answers SUCCESS
  probe.py 127.0.0.1:9876 --print-body             # also print the route (TopicRouteData JSON)
  probe.py 127.0.0.1:9876 --expect-broker 127.0.0.1:10911
  probe.py 127.0.0.1:9876 --tls-dir target/rocketmq-local/tls          # TLS instance
  probe.py 127.0.0.1:10911 --send AuthTopic --access-key alice --secret-key alice-secret-1 --print-header
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import socket
import ssl
import struct
import sys
import time
import uuid

GET_ROUTEINFO_BY_TOPIC = 105
SEND_MESSAGE_V2 = 310
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


def sign(ext_fields, body, access_key, secret_key):
    """ACL signature (AclClientRPCHook / AclUtils.combineRequestContent + calSignature)."""
    ext = dict(ext_fields)
    ext["AccessKey"] = access_key
    ext.pop("Signature", None)
    data = "".join(ext[k] for k in sorted(ext)).encode("utf-8") + body
    mac = hmac.new(secret_key.encode("utf-8"), data, hashlib.sha1).digest()
    ext["Signature"] = base64.b64encode(mac).decode("ascii")
    return ext


def tls_context(ca, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca:
        ctx.load_verify_locations(cafile=ca)   # check_hostname stays on: 127.0.0.1 must be in the SAN
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(certfile=cert, keyfile=key)
    return ctx


def request(host, port, code, ext_fields, timeout, body=b"", tls=None):
    with socket.create_connection((host, port), timeout=timeout) as raw:
        raw.settimeout(timeout)
        sock = tls.wrap_socket(raw, server_hostname=host) if tls is not None else raw
        try:
            sock.sendall(encode_request(code, ext_fields, body=body))
            (total,) = struct.unpack(">I", recv_exact(sock, 4))
            if total < 4 or total > 64 * 1024 * 1024:
                raise ValueError("implausible frame length %d" % total)
            frame = recv_exact(sock, total)
        finally:
            if sock is not raw:
                sock.close()
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
    ap.add_argument("--send", metavar="TOPIC",
                    help="send one message to TOPIC (SEND_MESSAGE_V2, code 310, queue 0): give a broker address")
    ap.add_argument("--group", default="PG_PROBE", help="producer group of --send (default PG_PROBE)")
    ap.add_argument("--ext", action="append", default=[], metavar="KEY=VALUE",
                    help="add/override a request ext field (repeatable)")
    ap.add_argument("--body", default=None, help="request body (UTF-8 text)")
    ap.add_argument("--access-key", help="ACL 2.0 user name: sign the request (needs --secret-key)")
    ap.add_argument("--secret-key", help="ACL 2.0 password used as the HmacSHA1 key")
    ap.add_argument("--tls", action="store_true", help="speak TLS (no server verification unless --tls-ca)")
    ap.add_argument("--tls-dir", metavar="DIR",
                    help="TLS with DIR/ca.pem as trust and DIR/client.pem + DIR/client.key as client certificate")
    ap.add_argument("--tls-ca", metavar="PEM", help="CA file the server certificate must chain to")
    ap.add_argument("--tls-cert", metavar="PEM", help="client certificate (chain) to present")
    ap.add_argument("--tls-key", metavar="PEM", help="key of --tls-cert")
    ap.add_argument("--tls-no-cert", action="store_true", help="present no client certificate")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args()

    host, _, port = a.addr.rpartition(":")
    if not host or not port.isdigit():
        print("probe: bad address %r (want host:port)" % a.addr, file=sys.stderr)
        return 2
    code = SEND_MESSAGE_V2 if a.send and a.code == GET_ROUTEINFO_BY_TOPIC else a.code
    body = a.body.encode("utf-8") if a.body is not None else b""
    if a.send:
        props = "UNIQ_KEY\x01%s\x02WAIT\x01true\x02" % uuid.uuid4().hex.upper()
        ext = {"a": a.group, "b": a.send, "c": "TBW102", "d": "4", "e": "0", "f": "0",
               "g": str(int(time.time() * 1000)), "h": "0", "i": props, "j": "0", "k": "false", "m": "false"}
        if a.body is None:
            body = b"probe"
    elif code == GET_ROUTEINFO_BY_TOPIC:
        ext = {"topic": a.topic, "acceptStandardJsonOnly": "true"}
    else:
        ext = {}
    for kv in a.ext:
        k, sep, v = kv.partition("=")
        if not sep:
            print("probe: --ext wants KEY=VALUE, got %r" % kv, file=sys.stderr)
            return 2
        ext[k] = v
    if (a.access_key is None) != (a.secret_key is None):
        print("probe: --access-key and --secret-key go together", file=sys.stderr)
        return 2
    if a.access_key is not None:
        ext = sign(ext, body, a.access_key, a.secret_key)
    tls = None
    if a.tls or a.tls_dir or a.tls_ca or a.tls_cert:
        ca, cert, key = a.tls_ca, a.tls_cert, a.tls_key
        if a.tls_dir:
            ca = ca or os.path.join(a.tls_dir, "ca.pem")
            cert = cert or os.path.join(a.tls_dir, "client.pem")
            key = key or os.path.join(a.tls_dir, "client.key")
        if a.tls_no_cert:
            cert = key = None
        try:
            tls = tls_context(ca, cert, key)
        except (OSError, ssl.SSLError) as e:
            print("probe: cannot set up TLS: %s" % e, file=sys.stderr)
            return 2
    try:
        header, body = request(host, int(port), code, ext, a.timeout, body=body, tls=tls)
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
