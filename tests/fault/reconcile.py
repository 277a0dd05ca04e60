#!/usr/bin/env python3
"""Reconciles one fault scenario of tests/fault/run.sh: what the driver was answered (and what the server's
own counters say) against the rows in PostgreSQL. Prints the detail, appends one row to the table file,
and exits 1 on any violation.

  reconcile.py --name NAME --run RUN.json --retry RETRY.json --events EVENTS --psql CONNINFO \
               --link-id N --publisher-id N --prefix P --ledger RC --table FILE [--restarted]

Clicks: every click id the driver got a 302 for must be a row (lost otherwise). Rows the driver has no 302
for are allowed only up to the number of click requests sent whose answer it never read (the server
recorded the click and died, or the connection broke, before the 302 reached the driver); more would be
clicks nobody asked for. The server's own redirect counter (from /metrics, per instance and process
lifetime) must equal the rows when no process died; when one died, its count is a lower bound (its
increments after the last scrape died with it).

Postbacks: the retry pass re-sent every txid that got a 503 or no answer until it got created or
duplicate, so every txid the driver sent must be exactly one conversion row. Lost = a txid answered
created or duplicate without a row. Doubled = more than one row per (offer, goal, txid), more than one
creation history row per conversion, or click rollups that disagree with the click rows (a re-delivered
batch counted twice).
"""
import argparse
import json
import subprocess
import sys


def q(conninfo, sql):
    out = subprocess.run(["psql", conninfo, "-tAXq", "-c", sql], check=True, capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if l != ""]


def q1(conninfo, sql):
    return int(q(conninfo, sql)[0])


def lifetimes(samples):
    """Splits one instance's scrapes into process lifetimes (process_start_time_seconds changes on a restart)."""
    runs, current, last = [], [], None
    for s in samples:
        if s["m"] is None:
            continue
        start = s["m"].get("process_start_time_seconds")
        if current and start != last:
            runs.append(current)
            current = []
        current.append(s)
        last = start
    if current:
        runs.append(current)
    return runs


def counter_value(m, key):
    """An exact series ('name{labels}') or, for a bare name, the family summed over its labels."""
    if "{" in key:
        return m.get(key, 0.0)
    return sum(v for k, v in m.items() if k == key or k.startswith(key + "{"))


def counter_delta(samples, key):
    """Growth of a counter over all process lifetimes; a restarted process counts from 0."""
    total = 0.0
    for i, run in enumerate(lifetimes(samples)):
        first = counter_value(run[0]["m"], key) if i == 0 else 0.0
        total += counter_value(run[-1]["m"], key) - first
    return total


def labelled_deltas(samples, family, since, until):
    """Per label set: growth within [since, until], over process lifetimes (a restarted process counts from 0)."""
    window = [s for s in samples if s["m"] is not None and since - 1.5 <= s["t"] <= until + 1.5]
    out = {}
    for i, run in enumerate(lifetimes(window)):
        a = run[0]["m"] if i == 0 else {}
        b = run[-1]["m"]
        for k in b:
            if k.startswith(family + "{") and b[k] - a.get(k, 0) > 0:
                out[k[len(family):]] = out.get(k[len(family):], 0) + b[k] - a.get(k, 0)
    return out


def main():
    ap = argparse.ArgumentParser()
    for a in ("--name", "--run", "--retry", "--events", "--psql", "--prefix", "--table"):
        ap.add_argument(a, required=True)
    ap.add_argument("--link-id", type=int, required=True)
    ap.add_argument("--publisher-id", type=int, required=True)
    ap.add_argument("--ledger", type=int, required=True)
    ap.add_argument("--spilled", type=int, default=0, help="clicks the server wrote straight to PostgreSQL at shutdown")
    ap.add_argument("--leftover", type=int, default=0, help="stream entries acknowledged but never deleted")
    ap.add_argument("--restarted", action="store_true", help="a server process died in this scenario")
    ap.add_argument("--loss-expected", action="store_true",
                    help="a Redis primary died without replica acknowledgement: report acknowledged writes lost, do not fail on them")
    args = ap.parse_args()
    run = json.load(open(args.run))
    retry = json.load(open(args.retry))
    events = {}
    for line in open(args.events):
        k, v = line.split()
        events[k] = float(v)
    violations = []
    # Losses a scenario may show by design (--loss-expected) are reported apart; doubling never is allowed.
    losses = []
    lossy = losses if args.loss_expected else violations

    # ---- clicks ----
    c = run["clicks"]
    answered = {cid for ids in c["ids"].values() for cid in ids}
    n302 = sum(len(ids) for ids in c["ids"].values())
    rows = set(q(args.psql, f"SELECT click_id FROM clicks WHERE link_id = {args.link_id}"))
    click_rows = q1(args.psql, f"SELECT count(*) FROM clicks WHERE link_id = {args.link_id}")
    lost_clicks = sorted(answered - rows)
    unread = len(rows - answered)
    doubled_clicks = click_rows - len(rows) + (n302 - len(answered))
    rollup, rollup_unique = (int(x) for x in q(args.psql, f"""SELECT coalesce(sum(clicks), 0) || '|' || coalesce(sum(unique_clicks), 0)
                                                           FROM click_rollup_hour WHERE publisher_id = {args.publisher_id}""")[0].split("|"))
    pub_rows, pub_unique = (int(x) for x in q(args.psql, f"""SELECT count(*) || '|' || count(*) FILTER (WHERE is_unique AND NOT is_bot)
                                                          FROM clicks WHERE publisher_id = {args.publisher_id}""")[0].split("|"))
    # Every driver click has its own user agent, so each is its visitor's first: a repeat is a uniqueness
    # answer that changed on re-delivery, or a click written straight to PostgreSQL at shutdown (--spilled).
    repeats = q1(args.psql, f"SELECT count(*) FROM clicks WHERE link_id = {args.link_id} AND NOT is_unique")
    # Behind a balancer the driver scrapes each instance apart from where it sends the load (metrics_bases).
    by_base = {b: [s for s in run["metrics"] if s["base"] == b] for b in run.get("metrics_bases", run["bases"])}
    server_302 = {b: int(counter_delta(s, 'at_clicks_total{outcome="redirect"}')) for b, s in by_base.items()}
    server_total = sum(server_302.values())

    print(f"--- {args.name}")
    print(f"clicks: sent {c['sent']} (not sent, no server: {c['not_sent']}), answered {json.dumps(c['status'])}, "
          f"sent but no answer read {c['no_answer']}"
          + (f"; the balancer's own errors (502/504: no answer, 503: not sent) {json.dumps(c['balancer'])}" if c.get("balancer") else ""))
    print(f"        302 per instance (driver): {json.dumps({b: len(i) for b, i in c['ids'].items()})}; "
          f"server's own redirect counter per instance: {json.dumps(server_302)}")
    print(f"        click rows {click_rows}; 302s without a row (lost) {len(lost_clicks)}; rows without a 302 the driver read {unread}; "
          f"rollup clicks {rollup} vs rows {pub_rows}, unique {rollup_unique} vs {pub_unique}; "
          f"rows marked repeat {repeats} (written straight to PostgreSQL at shutdown: {args.spilled})")
    if lost_clicks:
        lossy.append(f"{len(lost_clicks)} clicks answered 302 are not in PostgreSQL, e.g. {lost_clicks[:5]}")
    if unread > c["no_answer"]:
        violations.append(f"{unread} click rows without a 302 the driver read, but only {c['no_answer']} requests went unanswered")
    if doubled_clicks:
        violations.append(f"{doubled_clicks} click ids doubled")
    if rollup != pub_rows or rollup_unique != pub_unique:
        violations.append(f"click rollups say {rollup} clicks ({rollup_unique} unique), rows say {pub_rows} ({pub_unique})")
    if repeats != args.spilled:
        violations.append(f"{repeats} clicks recorded as repeats, expected {args.spilled}")
    if not args.restarted and server_total != click_rows:
        (lossy if server_total > click_rows else violations).append(f"the servers say they answered {server_total} redirects, PostgreSQL holds {click_rows}")
    if args.restarted and server_total > click_rows:
        violations.append(f"the servers counted {server_total} redirects (a lower bound), PostgreSQL holds only {click_rows}")

    # ---- postbacks ----
    p = run["postbacks"]
    def merged(kind):
        out = {t: {"answers": list(r["answers"]), "created_ids": list(r.get("created_ids", []))} for t, r in p[kind].items()}
        for t, r in retry[kind].items():
            o = out.setdefault(t, {"answers": [], "created_ids": []})
            o["answers"].extend(r["answers"])
            o["created_ids"].extend(r.get("created_ids", []))
        return out
    txids, rejects = merged("txids"), merged("rejects")
    like = f"txid LIKE '{args.prefix}-%'"
    conv = dict(tuple(l.split("|")) for l in q(args.psql, f"SELECT txid || '|' || id FROM conversions WHERE {like}"))
    conv_rows = q1(args.psql, f"SELECT count(*) FROM conversions WHERE {like}")
    rejected_rows = set(q(args.psql, f"SELECT txid FROM conversions WHERE {like} AND status = 'rejected'"))
    definitive = {t for t, r in txids.items() if any(x in ("created", "duplicate") for x in r["answers"])}
    lost_conv = sorted(t for t in definitive if t not in conv)
    never_sent = sorted(t for t in conv if t not in txids)
    rejected_ok = {t for t, r in rejects.items() if any(x in ("updated", "duplicate") for x in r["answers"])}
    lost_rejects = sorted(rejected_ok - rejected_rows)
    unasked_rejects = sorted(rejected_rows - set(rejects))
    unresolved = retry.get("unresolved", [])
    doubled_conv = q1(args.psql, f"""SELECT count(*) FROM (SELECT 1 FROM conversions WHERE {like}
                                     GROUP BY offer_id, goal, txid HAVING count(*) > 1) d""")
    # Per conversion and target status: one history row per event (created, rejected), never two.
    history_doubled = q1(args.psql, f"""SELECT count(*) FROM (SELECT 1 FROM conversion_status_history_entries h
                                        JOIN conversions c ON c.id = h.conversion_id WHERE c.{like}
                                        GROUP BY h.conversion_id, h.to_status HAVING count(*) > 1) d""")
    history_missing = q1(args.psql, f"""SELECT count(*) FROM conversions c WHERE c.{like}
                                        AND NOT EXISTS (SELECT 1 FROM conversion_status_history_entries h WHERE h.conversion_id = c.id)""")
    # The publisher postback outbox: exactly one queued postback per history event (created, status change).
    outbox = q(args.psql, f"""SELECT coalesce(sum(CASE WHEN pp > h THEN 1 ELSE 0 END), 0) || '|' || coalesce(sum(CASE WHEN pp < h THEN 1 ELSE 0 END), 0)
                               || '|' || coalesce(sum(pp), 0)
                               FROM (SELECT c.id, (SELECT count(*) FROM publisher_postbacks x WHERE x.conversion_id = c.id) AS pp,
                                            (SELECT count(*) FROM conversion_status_history_entries h WHERE h.conversion_id = c.id) AS h
                                     FROM conversions c WHERE c.{like}) d""")[0].split("|")
    outbox_doubled, outbox_missing, outbox_rows = int(outbox[0]), int(outbox[1]), int(outbox[2])
    twice = sorted(t for t, r in txids.items() if len(r["created_ids"]) > 1)
    other_id = sorted(t for t, r in txids.items() if len(r["created_ids"]) == 1 and t in conv and conv[t] != r["created_ids"][0])
    # A postback that got 503 or no answer and whose retry then said "duplicate": Redis had recorded it.
    recorded_unanswered = sum(1 for t, r in p["txids"].items()
                              if not any(x in ("created", "duplicate") for x in r["answers"])
                              and next((x for x in retry["txids"].get(t, {}).get("answers", []) if x in ("created", "duplicate")), None) == "duplicate")
    ans = p["answers"]
    print(f"postbacks: sent {p['sent']} (not sent, no server: {p['not_sent']}), {len(p['txids'])} distinct txids, {len(p['rejects'])} rejections; "
          f"answered {json.dumps(ans)}; sent but no answer read {p['no_answer']}"
          + (f"; the balancer's own errors (502/504: no answer, 503: not sent) {json.dumps(p['balancer'])}" if p.get("balancer") else ""))
    print(f"        retried afterwards (503 / no answer / not sent): {retry['retried']} -> {json.dumps(retry['answers'])}, unresolved {len(unresolved)}; "
          f"recorded although answered 503 / not answered (retry said duplicate): {recorded_unanswered}")
    print(f"        conversion rows {conv_rows} (rejected {len(rejected_rows)}); answered created/duplicate without a row (lost) {len(lost_conv)}; "
          f"rejections answered without effect {len(lost_rejects)}; rows per txid > 1: {doubled_conv}; history rows doubled {history_doubled}, "
          f"missing {history_missing}; publisher postbacks queued {outbox_rows} (doubled {outbox_doubled}, missing {outbox_missing}); "
          f"txids answered created twice {len(twice)}")
    if lost_conv:
        lossy.append(f"{len(lost_conv)} postbacks answered created/duplicate have no row, e.g. {lost_conv[:5]}")
    if lost_rejects:
        lossy.append(f"{len(lost_rejects)} rejections answered updated/duplicate did not reject the row, e.g. {lost_rejects[:5]}")
    if never_sent or unasked_rejects:
        violations.append(f"{len(never_sent)} conversion rows for txids never sent, {len(unasked_rejects)} rejected without a rejection sent")
    if unresolved:
        violations.append(f"{len(unresolved)} postbacks never got a definitive answer on retry")
    if len(conv) != len(definitive):
        (lossy if len(conv) < len(definitive) else violations).append(f"{len(definitive)} txids answered created/duplicate, {len(conv)} rows")
    if doubled_conv or history_doubled or history_missing:
        violations.append(f"conversions doubled: {doubled_conv} txids in two rows, {history_doubled} doubled / {history_missing} missing history")
    if outbox_doubled or outbox_missing:
        violations.append(f"publisher postback outbox: {outbox_doubled} conversions with more queued postbacks than events, {outbox_missing} with fewer")
    if twice or other_id:
        # Redis forgot an acknowledged dedupe record: the advertiser was told "created" for a conversion that
        # PostgreSQL already held under another id (still one row, but an acknowledged write was lost).
        lossy.append(f"{len(twice)} txids answered created twice, {len(other_id)} kept under another id than answered")

    # ---- what /metrics showed during the fault ----
    if "fault_start" in events:
        t0, t1 = events["fault_start"], events.get("fault_end", events["fault_start"])
        for b, s in by_base.items():
            win = [x for x in s if x["m"] is not None and t0 <= x["t"] <= t1 + 1]
            buffered = max((x["m"].get("at_clicks_buffered", 0) for x in win), default=0)
            lag = max((v for x in win for k, v in x["m"].items() if k.startswith("at_flush_lag_seconds")), default=0)
            print(f"metrics during the fault ({b}): max at_clicks_buffered {int(buffered)}, max at_flush_lag_seconds {lag:.1f}, "
                  f"at_flush_failures_total +{json.dumps(labelled_deltas(s, 'at_flush_failures_total', t0, t1))}, "
                  f"at_store_errors_total +{json.dumps(labelled_deltas(s, 'at_store_errors_total', t0, t1))}, "
                  f"postbacks +{json.dumps(labelled_deltas(s, 'at_postbacks_total', t0, t1))}")
    for b, s in by_base.items():
        print(f"flushed by {b} over the run: {json.dumps({k: int(v) for k, v in labelled_deltas(s, 'at_flush_entries_total', run['started'], run['stopped']).items()})}")
    print(f"stream entries left behind (acknowledged, never deleted): {args.leftover}")
    if args.leftover:
        violations.append(f"{args.leftover} stream entries acknowledged but never deleted (a backlog /health reports forever)")
    print(f"ledger check: {'ok' if args.ledger == 0 else 'FAILED'}")
    if args.ledger != 0:
        violations.append("ledger check failed")

    # An acknowledged creation Redis forgot (answered created twice, or kept under another id) is a lost write too.
    lost = len(lost_clicks) + len(lost_conv) + len(lost_rejects) + outbox_missing + len(twice) + len(other_id)
    doubled = doubled_clicks + (rollup != pub_rows or rollup_unique != pub_unique) + doubled_conv + history_doubled + outbox_doubled
    verdict = "FAIL" if violations else "lost, as expected without replica acks" if losses else "ok"
    for v in violations:
        print(f"VIOLATION: {v}")
    for v in losses:
        print(f"LOST (expected: {args.name} runs without replica acknowledgement): {v}")
    with open(args.table, "a") as f:
        f.write("\t".join(str(x) for x in (
            args.name, f"{c['sent']}+{p['sent']}", sum(len(i) for i in c["ids"].values()), ans.get("created", 0), ans.get("duplicate", 0),
            ans.get("503", 0), f"{c['no_answer']}+{p['no_answer']}", click_rows, conv_rows, lost, doubled,
            "ok" if args.ledger == 0 else "FAIL", verdict)) + "\n")
    sys.exit(1 if violations else 0)


if __name__ == "__main__":
    main()
