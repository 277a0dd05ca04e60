#!/usr/bin/env python3
"""What the visitors of tests/fault/balancer.sh saw through HAProxy, per scenario, and the balancer's own checks
(reconcile.py has already checked lost and doubled against the rows).

  balancer.py --run RUN_DIR --connections N SCENARIO...

Reads each scenario's driver answers (SCENARIO.json), HAProxy's counters after the load (SCENARIO.haproxy.csv,
"show stat", cleared when the scenario began), the suite's timings (SCENARIO.lb) and reconcile's row (table.tsv).
rolling-restart must fail no request: every click 302, every postback a definitive answer, nothing unanswered,
no 5xx, and each instance taken out by HAProxy before its process exited. instance-kill9 may fail only requests
that were in flight on the killed instance: at most one per driver connection (N).
Prints a table and exits 1 on a violation.
"""
import argparse
import csv
import json
import os
import sys


def haproxy_rows(path):
    with open(path) as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    header = lines[0].lstrip("# ").split(",")
    return {(r["pxname"], r["svname"]): r for r in csv.DictReader(lines[1:], fieldnames=header)}


def n(row, field):
    return int(row.get(field) or 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--connections", type=int, required=True, help="driver connections (click + postback)")
    ap.add_argument("scenarios", nargs="+")
    args = ap.parse_args()
    table = {}
    for line in open(os.path.join(args.run, "table.tsv")):
        cols = line.rstrip("\n").split("\t")
        table[cols[0]] = cols
    violations, rows, notes = [], [], []
    for name in args.scenarios:
        run = json.load(open(os.path.join(args.run, f"{name}.json")))
        hp = haproxy_rows(os.path.join(args.run, f"{name}.haproxy.csv"))
        fe, be = hp[("tracker", "FRONTEND")], hp[("trackers", "BACKEND")]
        servers = {sv: r for (px, sv), r in hp.items() if px == "trackers" and sv != "BACKEND"}
        c, p = run["clicks"], run["postbacks"]
        n302 = c["status"].get("302", 0)
        inst_5xx = sum(v for k, v in c["status"].items() if k.startswith("5")) + \
            sum(v for k, v in p["answers"].items() if k == "503" or k.startswith("other:5"))
        bal_5xx = sum(c.get("balancer", {}).values()) + sum(p.get("balancer", {}).values())
        definitive = sum(v for k, v in p["answers"].items() if k in ("created", "duplicate", "updated"))
        no_answer, not_sent = c["no_answer"] + p["no_answer"], c["not_sent"] + p["not_sent"]
        failed = no_answer + not_sent
        balancer_503 = c.get("balancer", {}).get("503", 0) + p.get("balancer", {}).get("503", 0)
        cols = table.get(name, [name] + ["?"] * 12)
        rows.append((name, f"{c['sent']}+{p['sent']}", n(fe, "req_tot"), n302, definitive, f"{inst_5xx}+{bal_5xx}",
                     f"{c['no_answer']}+{p['no_answer']}", f"{c['not_sent']}+{p['not_sent']}",
                     f"{n(be, 'wretr')}/{n(be, 'wredis')}", cols[9], cols[10], cols[12]))
        for sv, r in sorted(servers.items()):
            notes.append(f"{name}: server {sv}: {n(r, 'lbtot')} requests ({n(r, 'hrsp_3xx')} 3xx, {n(r, 'hrsp_5xx')} 5xx), "
                         f"connection errors {n(r, 'econ')}, response errors {n(r, 'eresp')}, retries {n(r, 'wretr')}, "
                         f"redispatched away {n(r, 'wredis')}, marked down {n(r, 'chkdown')}x, now {r['status']}")
        if n(fe, "req_tot") != c["sent"] + p["sent"] + balancer_503:
            notes.append(f"{name}: HAProxy received {n(fe, 'req_tot')} requests, the driver sent {c['sent'] + p['sent'] + balancer_503}")
        events = [l.split() for l in open(os.path.join(args.run, f"{name}.lb")) if l.strip()]
        for e in events:
            kv = dict(zip(e[2::2], e[3::2]))
            if e[0] == "restart":
                notes.append(f"{name}: {e[1]} SIGTERM -> DOWN in HAProxy after {kv['down_after']} s, process exited after "
                             f"{kv['exited_after']} s (status {kv['exit_status']}), UP again {kv['up_after']} s after its start began")
                if kv["down_after"] == "never" or float(kv["down_after"]) >= float(kv["exited_after"]):
                    violations.append(f"{name}: HAProxy still counted {e[1]} in when it stopped listening (drain too short)")
            elif e[0] == "kill9":
                killed = servers.get(e[1].lower(), {})
                notes.append(f"{name}: {e[1]} kill -9 -> DOWN in HAProxy after {kv['down_after']} s "
                             f"({kv['reason'].replace('_', ' ')}), UP again {kv['up_after']} s after its start began; "
                             f"{n(killed, 'wredis')} requests whose connection it refused went to another instance "
                             f"(redispatched), {n(killed, 'eresp')} were in flight on it when it died; "
                             f"{failed} requests failed for the driver ({no_answer} without an answer, {not_sent} not sent)")
        if name == "rolling-restart":
            if n302 != c["sent"] or failed or inst_5xx or bal_5xx or n(fe, "hrsp_5xx") or definitive != p["sent"]:
                violations.append(f"{name}: a rolling restart must fail nothing, yet {c['sent'] - n302} clicks were not answered 302, "
                                  f"{p['sent'] - definitive} postbacks got no definitive answer, {no_answer} unanswered, "
                                  f"{not_sent} not sent, {inst_5xx}+{bal_5xx} 5xx (HAProxy counted {n(fe, 'hrsp_5xx')})")
        elif failed > args.connections:
            violations.append(f"{name}: {failed} requests failed, more than the {args.connections} that can be in flight at "
                              f"the kill: requests sent after it were not retried on another instance")
    head = ("scenario", "sent clicks+postbacks", "HAProxy requests", "302s", "postbacks answered", "5xx instance+balancer",
            "no answer (c+p)", "not sent (c+p)", "retries/redispatches", "lost", "doubled", "verdict")
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    print("\nthrough the balancer (what visitors saw; lost and doubled from reconcile)")
    for r in (head, *rows):
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip())
    for line in notes:
        print(f"  {line}")
    for v in violations:
        print(f"VIOLATION: {v}")
    if not violations:
        print("balancer checks: rolling restart failed no request; the kill failed only requests in flight")
    sys.exit(1 if violations else 0)


if __name__ == "__main__":
    main()
