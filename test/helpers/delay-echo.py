#!/usr/bin/env python3
# Fallback for `tc netem delay` on kernels without sch_netem (CONFIG_NET_SCH_NETEM unset, as here):
# a userspace ICMP echo responder for the lab's probe targets, run inside the lab's Internet
# namespace while the kernel's own echo replies are off there (net.ipv4.icmp_echo_ignore_all=1).
# Echo requests from --slow-from are answered --delay-ms late, all others at once: the uplink
# whose (NATed) address is --slow-from sees its probes' round-trip time grow by that much.
# usage: delay-echo.py --targets A,B,C --slow-from ADDR --delay-ms N
import argparse, heapq, select, socket, struct, time

ap = argparse.ArgumentParser()
ap.add_argument('--targets', required=True)
ap.add_argument('--slow-from', required=True)
ap.add_argument('--delay-ms', type=int, required=True)
a = ap.parse_args()

def checksum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff

socks = {}
for t in a.targets.split(','):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.bind((t, 0))
    socks[s.fileno()] = s
due = []
print('ready', flush=True)
while True:
    timeout = max(0, due[0][0] - time.monotonic()) if due else 1.0
    r, _, _ = select.select(list(socks.values()), [], [], timeout)
    for s in r:
        data, addr = s.recvfrom(65535)
        ihl = (data[0] & 15) * 4
        icmp = data[ihl:]
        if len(icmp) < 8 or icmp[0] != 8:
            continue
        body = b'\x00\x00\x00\x00' + icmp[4:]
        reply = body[:2] + struct.pack('!H', checksum(body)) + body[4:]
        delay = a.delay_ms / 1000 if addr[0] == a.slow_from else 0
        heapq.heappush(due, (time.monotonic() + delay, id(reply), s.fileno(), reply, addr[0]))
    now = time.monotonic()
    while due and due[0][0] <= now:
        _, _, fd, reply, dst = heapq.heappop(due)
        socks[fd].sendto(reply, (dst, 0))
