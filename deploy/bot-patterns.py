#!/usr/bin/env python3
"""Regenerates the redirect's bot patterns from the npm package crawler-user-agents (MIT).

    python3 deploy/bot-patterns.py [VERSION]      (default: the version below; "latest" for the newest)

The package lists crawlers as regular expressions, with sample user agents ("instances"). The redirect
matches plain substrings in one vectorised pass (Clicks/BotDetector.cs), so each expression is turned into
the literal text it requires: escapes undone, [aA] classes folded (matching ignores case), anchors dropped,
and for anything with alternatives or wildcards the longest literal piece every match must contain. A
pattern is kept only if it finds its own samples and matches none of the browser user agents in the npm
package top-user-agents (MIT): a literal such as "mozilla" would flag every visitor.

Writes src/AffiliateTracker/Clicks/BotPatterns.txt (read by BotDetector) and the two test corpora in
tests/AffiliateTracker.Tests/UserAgents/, which BotDetectorTests measure the detector against.
"""
import json
import pathlib
import re
import subprocess
import sys
import tarfile
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRAWLERS = ("crawler-user-agents", sys.argv[1] if len(sys.argv) > 1 else "1.60.0")
BROWSERS = ("top-user-agents", "2.1.138")
OUT = ROOT / "src/AffiliateTracker/Clicks/BotPatterns.txt"
CORPUS = ROOT / "tests/AffiliateTracker.Tests/UserAgents"


def fetch(name, version, work):
    subprocess.run(["npm", "pack", "--silent", f"{name}@{version}"], cwd=work, check=True, stdout=subprocess.DEVNULL)
    tgz = next(pathlib.Path(work).glob(f"{name}-*.tgz"))
    with tarfile.open(tgz) as t:
        t.extractall(pathlib.Path(work) / name, filter="data")
    package = pathlib.Path(work) / name / "package"
    return package, json.loads((package / "package.json").read_text())["version"]


def top_level_alternatives(pattern):
    """'a|b(c|d)' -> ['a', 'b(c|d)']: each alternative outside groups and classes."""
    parts, depth, in_class, start, i = [], 0, False, 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c in "()":
            depth += 1 if c == "(" else -1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i]); start = i + 1
        i += 1
    return parts + [pattern[start:]]


def literal(pattern):
    """The longest text every match of the expression contains, lower case; None if it has none."""
    p = re.sub(r"\[([a-zA-Z])([a-zA-Z])\]", lambda m: m.group(1) if m.group(1).lower() == m.group(2).lower() else "\0", pattern)
    p = p.strip("^$")
    pieces, current, i = [], "", 0
    while i < len(p):
        c = p[i]
        if c == "\\" and i + 1 < len(p):
            n = p[i + 1]
            if n.isalnum():  # \d, \s, \w ...: a class, not text
                pieces.append(current); current = ""
            else:
                current += n
            i += 2
            continue
        if c == "|":
            return None  # alternatives inside what is left: no single text is required
        if c in "()[]{}.*+?^$\0":
            # A quantifier makes the character before it optional or repeated: it is not required as written.
            if c in "*?{" and current:
                current = current[:-1]
            if c == "(":
                depth, j = 1, i + 1
                while j < len(p) and depth:
                    depth += {"(": 1, ")": -1}.get(p[j], 0)
                    j += 1
                group_quantified = j < len(p) and p[j] in "*?{"
                pieces.append(current); current = ""
                i = j + (1 if group_quantified else 0)
                continue
            if c == "[":
                j = p.find("]", i + 1)
                i = (j + 1) if j > 0 else len(p)
                if i < len(p) and p[i] in "*?{":
                    i += 1
                pieces.append(current); current = ""
                continue
            pieces.append(current); current = ""
            i += 1
            continue
        current += c
        i += 1
    pieces.append(current)
    best = max(pieces, key=len).lower()
    return best if len(best.strip()) >= 3 else None


def main():
    with tempfile.TemporaryDirectory() as work:
        crawlers, crawler_version = fetch(*CRAWLERS, work)
        browsers, browser_version = fetch(*BROWSERS, work)
        entries = json.loads((crawlers / "crawler-user-agents.json").read_text())
        browser_agents = json.loads((browsers / "src/index.json").read_text())

    lowered_browsers = [b.lower() for b in browser_agents]
    kept, dropped = set(), []
    for e in entries:
        texts = [literal(alternative) for alternative in top_level_alternatives(e["pattern"])]
        instances = [s.lower() for s in e.get("instances", [])]
        if None in texts or any(t in b for t in texts for b in lowered_browsers) \
                or (instances and not any(t in s for t in texts for s in instances)):
            dropped.append(e["pattern"])
            continue
        kept.update(texts)
    # A pattern inside another adds nothing: "googlebot" already covers "googlebot-image".
    minimal = sorted(t for t in kept if not any(o != t and o in t for o in kept))

    header = [
        f"# Generated by deploy/bot-patterns.py from {CRAWLERS[0]} {crawler_version} (MIT, https://github.com/monperrus/crawler-user-agents).",
        "# Lower-case substrings of the user agent; BotDetector adds a few of its own. Do not edit by hand.",
        f"# {len(minimal)} patterns from {len(entries)} entries; {len(dropped)} entries had no usable literal or matched a browser.",
    ]
    OUT.write_text("\n".join(header + minimal) + "\n")
    CORPUS.mkdir(parents=True, exist_ok=True)
    samples = sorted({s for e in entries for s in e.get("instances", []) if s.strip()})
    (CORPUS / "crawlers.txt").write_text(
        f"# Sample user agents of {CRAWLERS[0]} {crawler_version} (MIT); one per line.\n" + "\n".join(samples) + "\n")
    (CORPUS / "browsers.txt").write_text(
        f"# {BROWSERS[0]} {browser_version} (MIT): the most common browser user agents; one per line.\n" + "\n".join(browser_agents) + "\n")
    print(f"{len(minimal)} patterns -> {OUT.relative_to(ROOT)}; {len(samples)} crawler samples, {len(browser_agents)} browsers -> {CORPUS.relative_to(ROOT)}")
    print("dropped:", ", ".join(dropped[:40]), "..." if len(dropped) > 40 else "")


if __name__ == "__main__":
    main()
