#!/usr/bin/env python3
"""Writes traffic-corpus.tsv: real browsers' user agents with what those browsers reported about themselves,
from the npm package user-agents (BSD-2-Clause, Intoli LLC), which collects them from real visits: the device
category (from the screen size) and navigator.platform. TrafficClassificationTests measure the classifier
against it. Run: python3 tests/AffiliateTracker.Tests/UserAgents/make-traffic-corpus.py (needs npm)."""
import json, os, subprocess, tarfile, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = "2.1.198"
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(["npm", "pack", "--silent", f"user-agents@{VERSION}"], cwd=tmp, check=True, capture_output=True)
    with tarfile.open(os.path.join(tmp, f"user-agents-{VERSION}.tgz")) as tgz:
        data = json.load(tgz.extractfile("package/dist/user-agents.json"))
seen = set()
with open(os.path.join(HERE, "traffic-corpus.tsv"), "w", encoding="utf-8") as out:
    out.write(f"# user-agents {VERSION} (BSD-2-Clause, Intoli LLC): user agent, device category, navigator.platform, as real browsers reported them\n")
    for row in data:
        ua = row["userAgent"]
        if ua in seen or "\t" in ua:
            continue
        seen.add(ua)
        out.write(f"{ua}\t{row['deviceCategory']}\t{row['platform']}\n")
print(f"{len(seen)} user agents written")
