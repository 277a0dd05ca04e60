#!/usr/bin/env python3
"""Writes src/AffiliateTracker/Clicks/HostingAsns.txt: the networks (ASNs) whose addresses are hosting, cloud and
data-centre machines rather than people's homes and phones. A click from one is flagged `datacenter` and its
conversions are held for review (traffic from servers is bots, proxies and fraud far more often than buyers).

Two sources, kept here so the list can be rebuilt when the ASN data is updated (deploy/traffic-data.sh update):
  - the major clouds and hosters by ASN (names change, numbers do not), and
  - every other network whose registered name says it hosts machines (the patterns below), from ip-location-db's
    ASN file (deploy/traffic-data.sh fetches it).
Run: python3 deploy/hosting-asns.py [.data/traffic/asn-ipv4-num.csv]
"""
import csv, os, re, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".data", "traffic", "asn-ipv4-num.csv")
OUT = os.path.join(ROOT, "src", "AffiliateTracker", "Clicks", "HostingAsns.txt")

# Clouds, hosters, CDNs and VPN/proxy operators, by number.
KNOWN = {
    16509, 14618, 8987, 39111,            # Amazon (AWS)
    15169, 396982, 19527, 36040, 139070,  # Google, Google Cloud
    8075, 8068, 8069, 12076,              # Microsoft, Azure
    14061, 200130, 393406,                # DigitalOcean
    16276, 35540,                         # OVH
    24940, 213230,                        # Hetzner
    63949, 20940, 16625,                  # Akamai, Linode
    20473,                                # Vultr (The Constant Company)
    45102, 37963, 45103,                  # Alibaba Cloud
    132203, 45090,                        # Tencent Cloud
    31898,                                # Oracle Cloud
    12876,                                # Scaleway
    51167,                                # Contabo
    60781, 28753, 16265, 59253, 30633,    # LeaseWeb
    47583,                                # Hostinger
    9009,                                 # M247
    212238,                               # Datacamp (CDN77)
    62240,                                # Clouvider
    13335, 209242,                        # Cloudflare (WARP egress)
    54113,                                # Fastly
    46606,                                # Unified Layer
    36352,                                # ColoCrossing / HostPapa
    55286,                                # B2 Net Solutions (ServerMania)
    40065,                                # CNSERVERS
    53667,                                # FranTech (BuyVM)
    62567, 14956,                         # DigitalOcean (old), RouterHosting
    8100,                                 # QuadraNet
    32097,                                # WholeSale Internet
    398101, 398324,                       # GoDaddy, Censys (scanners)
    24961,                                # myLoc
    197540,                               # netcup
    50673,                                # Serverius
    43350,                                # NForce
    49981,                                # WorldStream
    29802,                                # HIVELOCITY
    11878,                                # tzulo
    23470,                                # ReliableSite
}
NOT_HOSTING = {7922, 174}  # Comcast, Cogent: people's networks (or transit) that a pattern would catch by mistake

PATTERN = re.compile(
    r"\b(hosting|hoster|webhost|host ?europe|datacent(er|re)s?|data[ -]?cent(er|re)s?|colocation|colo\b|dedicated servers?|"
    r"vps|virtual private server|cloud (computing|services|infrastructure|hosting|provider|solutions)|server ?(farm|center|centre)|"
    r"servers? (ltd|llc|gmbh|inc|b\.?v\.?|s\.?r\.?l\.?)|bulletproof|seedbox|proxy|vpn)\b", re.I)

def main():
    names = {}
    with open(SOURCE, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) >= 4 and row[2].isdigit():
                names.setdefault(int(row[2]), row[3])
    chosen = {asn for asn in KNOWN if asn in names} | {asn for asn, name in names.items() if PATTERN.search(name)}
    chosen -= NOT_HOSTING
    with open(OUT, "w", encoding="utf-8") as out:
        out.write("# Hosting, cloud and data-centre networks (ASNs): built by deploy/hosting-asns.py from ip-location-db's ASN data\n")
        out.write(f"# ({os.path.basename(SOURCE)}); one per line, the number and then the registered name.\n")
        for asn in sorted(chosen):
            out.write(f"{asn} {names[asn]}\n")
    print(f"{len(chosen)} hosting ASNs of {len(names)} written to {OUT}")

main()
