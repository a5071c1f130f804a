#!/usr/bin/env python3
"""Checks a TS that went through Braid against the one that went in, independently of Braid's
own classifier: PES reassembly on the video PID, NAL units from Annex-B start codes.

  ts_check.py rate FILE SECONDS       kbit/s of the TS left after deleting null packets and
                                      filler-only video packets (what Braid must carry)
  ts_check.py compare IN OUT [SHED]   every access unit of OUT is one of IN, byte for byte and
                                      in order; the ones missing are all non-reference pictures
                                      (SHED: and there are exactly SHED of them); every
                                      keyframe, parameter set and PAT/PMT arrived; no continuity
                                      counter error in OUT. Prints a summary; exit 1 on failure.
  ts_check.py holes IN OUT            the packets Braid must carry (null and filler-only video
                                      packets left out) of OUT are those of IN, byte for byte
                                      and in order, less some: prints how many are missing;
                                      exit 1 when OUT holds one that is not IN's next ones.
"""
import hashlib
import sys

NULL_PID = 0x1FFF


def packets(data):
    for off in range(0, len(data) - 187, 188):
        yield data[off:off + 188]


def pid_of(p):
    return ((p[1] & 0x1F) << 8) | p[2]


def payload_of(p):
    afc = (p[3] >> 4) & 3
    if not afc & 1:
        return b""
    start = 4
    if afc & 2:
        start = 5 + p[4]
    return p[start:] if start < 188 else b""


def section(p):
    pl = payload_of(p)
    if not (p[1] & 0x40) or not pl:
        return b""
    s = pl[1 + pl[0]:]
    return s[:3 + (((s[1] & 0x0F) << 8) | s[2])] if len(s) >= 3 else b""


def nal_types(es):
    """(type byte, nal header) for each NAL unit of an Annex-B byte stream."""
    i, out = 0, []
    while True:
        i = es.find(b"\x00\x00\x01", i)
        if i < 0 or i + 3 >= len(es):
            return out
        out.append(es[i + 3])
        i += 3


def analyse(path):
    data = open(path, "rb").read()
    pmt_pids, video_pid, codec = set(), None, None
    last_cc, cc_errors, psi = {}, [], 0
    units, current = [], None

    def close():
        if current is None:
            return
        es = bytes(current)
        hdr = 9 + es[8] if len(es) > 9 and es[:3] == b"\x00\x00\x01" else 0
        pts = None
        if hdr and es[7] & 0x80:
            b = es[9:14]
            pts = ((b[0] >> 1) & 7) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | b[4] >> 1
        body = es[hdr:]
        key = params = ref = nonref = False
        for h in nal_types(body):
            if codec == "h264":
                t = h & 0x1F
                key |= t == 5
                params |= t in (7, 8)
                if 1 <= t <= 4:
                    ref |= (h >> 5) != 0
                    nonref |= (h >> 5) == 0
            else:
                t = (h >> 1) & 0x3F
                key |= 16 <= t <= 23
                params |= 32 <= t <= 34
                if t <= 15:
                    nonref |= t <= 14 and t % 2 == 0
                    ref |= not (t <= 14 and t % 2 == 0)
        units.append({"pts": pts, "hash": hashlib.sha1(body).hexdigest(), "key": key,
                      "params": params, "droppable": nonref and not (ref or key or params)})

    for i, p in enumerate(packets(data)):
        pid = pid_of(p)
        if pid == NULL_PID:
            continue
        afc = (p[3] >> 4) & 3
        disc = afc & 2 and p[4] > 0 and p[5] & 0x80
        if afc & 1:
            cc = p[3] & 0x0F
            last = last_cc.get(pid)
            if last is not None and not disc and cc not in ((last + 1) & 0x0F, last):
                cc_errors.append((i, pid, last, cc))
            last_cc[pid] = cc
        if pid == 0 or pid in pmt_pids:
            psi += 1
            s = section(p)
            if pid == 0 and s:
                for j in range(8, len(s) - 4, 4):
                    if (s[j] << 8 | s[j + 1]) != 0:
                        pmt_pids.add(((s[j + 2] & 0x1F) << 8) | s[j + 3])
            elif s and s[0] == 2 and video_pid is None:
                j = 12 + (((s[10] & 0x0F) << 8) | s[11])
                while j + 5 <= len(s) - 4:
                    if s[j] in (0x1B, 0x24):
                        video_pid = ((s[j + 1] & 0x1F) << 8) | s[j + 2]
                        codec = "h264" if s[j] == 0x1B else "h265"
                        break
                    j += 5 + (((s[j + 3] & 0x0F) << 8) | s[j + 4])
            continue
        if pid == video_pid:
            if p[1] & 0x40:
                close()
                current = bytearray()
            if current is not None:
                current += payload_of(p)
    close()
    return {"units": units, "cc_errors": cc_errors, "psi": psi, "data": data}


def carried(path):
    """The packets Braid must carry: all but null packets and filler-only video packets."""
    data = open(path, "rb").read()
    for p in packets(data):
        filler = (not p[1] & 0x40 and (p[3] & 0x30) == 0x10 and p[4:] == b"\xff" * 184)
        if pid_of(p) != NULL_PID and not filler:
            yield p


def kept_kbps(path, seconds):
    return sum(188 for _ in carried(path)) * 8 / seconds / 1000


def holes(inp, out):
    a, b = list(carried(inp)), list(carried(out))
    j = 0
    for i, p in enumerate(b):
        while j < len(a) and a[j] != p:
            j += 1
        if j == len(a):
            print("ts_check: FAIL: output packet %d (of %d carried) is not one of the input's, in order"
                  % (i, len(b)))
            return 1
        j += 1
    print("ts_check: input %d carried packets, output %d, missing %d" % (len(a), len(b), len(a) - len(b)))
    return 0


def compare(inp, out, shed):
    a, b = analyse(inp), analyse(out)
    failures = []
    j = 0
    missing = []
    for u in b["units"]:
        while j < len(a["units"]) and (a["units"][j]["hash"], a["units"][j]["pts"]) != (u["hash"], u["pts"]):
            missing.append(a["units"][j])
            j += 1
        if j == len(a["units"]):
            failures.append("an output access unit (pts %s) is not an input one, in order" % u["pts"])
            break
        j += 1
    missing += a["units"][j:]
    bad = [u for u in missing if not u["droppable"]]
    keys = sum(u["key"] for u in a["units"])
    params = sum(u["params"] for u in a["units"])
    print("ts_check: input %d access units (%d keyframes, %d with parameter sets, %d droppable); "
          "output %d; missing %d (%d of them not droppable); PSI packets %d -> %d; "
          "continuity errors in output %d"
          % (len(a["units"]), keys, params, sum(u["droppable"] for u in a["units"]),
             len(b["units"]), len(missing), len(bad), a["psi"], b["psi"], len(b["cc_errors"])))
    if bad:
        failures.append("%d missing access units were not droppable (first pts %s)" % (len(bad), bad[0]["pts"]))
    if b["cc_errors"]:
        failures.append("continuity errors, first: packet %d PID 0x%x %d -> %d" % b["cc_errors"][0])
    if b["psi"] != a["psi"]:
        failures.append("PAT/PMT packets: %d in, %d out" % (a["psi"], b["psi"]))
    if shed is not None and len(missing) != shed:
        failures.append("%d access units missing, the edge shed %d" % (len(missing), shed))
    for f in failures:
        print("ts_check: FAIL: " + f)
    return 1 if failures else 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "rate":
        print("%.0f" % kept_kbps(sys.argv[2], float(sys.argv[3])))
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "holes":
        return holes(sys.argv[2], sys.argv[3])
    if len(sys.argv) in (4, 5) and sys.argv[1] == "compare":
        return compare(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) == 5 else None)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
