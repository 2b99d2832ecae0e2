#!/usr/bin/env python3
"""Seed a migrated crm-webhooks database with ROWS leads as the service would have written them
(bench/read.sh).

Usage: seed_read.py generate DIR ROWS       (the rows, once, as COPY text files in DIR)
       seed_read.py sqlite DB_PATH DIR        (one transaction of inserts)
       seed_read.py postgres DATABASE_URL DIR (COPY through psql, one transaction)

One generator serves both engines, so both get the same rows (seeded random, same ids):
- leads 1..ROWS, created over the last two years in id order (a fixed-width RFC 3339 text with
  microseconds, as the service writes it), updated up to 30 days later; statuses, sources,
  priorities, owners (`assigned_to`, 50 people, 10% none), expected values, first and last names
  (about 1,080 last names), e-mails (`first.last<n>@domain`, some with capitals), phones in
  several punctuations, companies (about 62,000 names), cities, the `data` object as
  `raw_payload`, the normalised `email_norm` and `phone_norm`, and the search keys
  `last_name_lower` and `company_name_lower` (each character's lower case), as the service writes
  them. About 7% are discarded (lost, with a reason and `discarded_at`). Some fields are left out as senders do (no e-mail, phone, company
  or last name on a share of rows).
- status history as the stores write it: a `Created` row per lead, then the status update or
  discard that brought it to its status.
- possible duplicates: about 2% of leads reuse an earlier lead's e-mail in other capitals and
  about 1% an earlier lead's phone in other punctuation; each pair is stored both ways, with
  `matched_on`, as the duplicate matcher stores it.
- one lead (id ROWS / 2) with 50 memos and 50 status history rows (bench/read.sh reads its
  detail).
The inserts fire the pipeline-count triggers (migration 0007): the deltas they write are folded
by the service's own `pipeline_fold` task once it runs. No ANALYZE on SQLite (the service never
runs one); PostgreSQL gets ANALYZE of the seeded tables, as autovacuum would do soon after.
"""
import random
import sqlite3
import subprocess
import sys
import time

from seed_logs_sqlite import fmt  # the same fixed-width times, cached per second

FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
         "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Karen",
         "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "Ahmed", "Ashley",
         "Steven", "Kimberly", "Paul", "Emily", "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Carol",
         "Priya", "Amanda", "Wei", "Melissa", "Kevin", "Deborah", "Brian", "Stephanie", "Yuki", "Rebecca",
         "Olga", "Laura", "Jose", "Sharon", "Fatima", "Cynthia", "Lukas", "Kathleen", "Ravi", "Amy",
         "Chen", "Angela", "Omar", "Anna", "Sofia", "Ruth", "Hans", "Brenda", "Ivan", "Pamela"]
COMMON_LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
               "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
               "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez",
               "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen",
               "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell",
               "Carter", "Roberts", "Patel", "Kumar", "Singh", "Müller", "Schmidt", "Schneider", "Fischer",
               "Weber", "Kowalski", "Nowak", "Rossi", "Russo", "Ferrari", "Dubois", "Moreau", "Tanaka",
               "Suzuki", "Kim", "Park", "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "O'Brien", "O'Connor"]
SYLLABLES = ["ba", "ber", "cal", "dor", "en", "fal", "gan", "har", "is", "jor", "kel", "lan", "mor", "nes",
             "ol", "par", "quin", "ros", "sel", "tor", "ur", "val", "wes", "yar", "zel"]
COMPANY_A = ["Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Wonka", "Tyrell",
             "Cyberdyne", "Soylent", "Hooli", "Vandelay", "Pied", "Blue", "Red", "Green", "Silver", "Golden",
             "Atlas", "Apex", "Summit", "Pioneer", "Vertex", "Horizon", "Evergreen", "Redwood", "Lakeside",
             "Harbor", "Sterling", "Quantum", "Nimbus", "Orion", "Polaris", "Zenith", "Keystone", "Beacon",
             "Cobalt", "Crescent", "Falcon", "Granite", "Ironwood", "Juniper", "Kestrel", "Lumen", "Meridian",
             "Nova", "Oakridge", "Pinnacle", "Riverbend", "Sapphire", "Tidewater", "Unity", "Vista", "Willow",
             "Xenon", "Yellowstone", "Zephyr", "Ärzte", "Überall"]
COMPANY_B = ["Logistics", "Foods", "Systems", "Software", "Health", "Energy", "Motors", "Textiles", "Retail",
             "Capital", "Consulting", "Labs", "Media", "Pharma", "Robotics", "Solar", "Telecom", "Travel",
             "Builders", "Analytics", "Dynamics", "Industries", "Networks", "Partners", "Studios", "Supplies",
             "Ventures", "Works", "Farms", "Security", "Shipping", "Steel", "Water", "Wireless", "Airlines",
             "Bakery", "Clinic", "Designs", "Electric", "Finance", "Games", "Hotels", "Imports", "Jewelry",
             "Kitchens", "Lighting", "Machines", "Nutrition", "Optics", "Printing", "Realty", "Tools",
             "Trading", "Transport", "Apparel", "Biotech", "Cloud", "Dental", "Education", "Fitness",
             "Graphics", "Hardware", "Insurance", "Legal", "Marine", "Packaging", "Paper", "Plastics",
             "Recycling", "Research", "Robotics Group", "Sports", "Timber", "Toys", "Vision", "Wellness",
             "Wines", "Yards", "Zinc", "Audio", "Chemicals", "Coffee", "Data", "Fabrics", "Glass", "Home",
             "Instruments", "Leather", "Metals", "Mining", "Oil", "Pets", "Rail", "Semiconductors", "Tea",
             "Tiles", "Vehicles", "Wood", "Aerospace", "Agro", "Brewing", "Cement", "Cosmetics", "Drones"]
COMPANY_C = ["Inc", "LLC", "Ltd", "GmbH", "Co", "Group", "SA", "BV", "Pty Ltd", "Corp"]
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "example.com", "example.org", "mail.example.net",
           "acme.example", "northwind.example", "globex.example", "proton.example"]
CITIES = [("New York", "NY", "USA", "America/New_York"), ("Austin", "TX", "USA", "America/Chicago"),
          ("San Francisco", "CA", "USA", "America/Los_Angeles"), ("Berlin", "BE", "Germany", "Europe/Berlin"),
          ("Munich", "BY", "Germany", "Europe/Berlin"), ("London", "LND", "UK", "Europe/London"),
          ("Mumbai", "MH", "India", "Asia/Kolkata"), ("Bengaluru", "KA", "India", "Asia/Kolkata"),
          ("Tokyo", "13", "Japan", "Asia/Tokyo"), ("São Paulo", "SP", "Brazil", "America/Sao_Paulo"),
          ("Toronto", "ON", "Canada", "America/Toronto"), ("Sydney", "NSW", "Australia", "Australia/Sydney"),
          ("Paris", "IDF", "France", "Europe/Paris"), ("Madrid", "MD", "Spain", "Europe/Madrid"),
          ("Warsaw", "MZ", "Poland", "Europe/Warsaw"), ("Dubai", "DU", "UAE", "Asia/Dubai")]
SOURCES = [("website", 30), ("referral", 12), ("social_media", 12), ("cold_call", 6), ("walk_in", 2),
           ("whatsapp", 8), ("email", 10), ("erp", 12), ("direct", 4), ("other", 4)]
STATUSES = [("new", 30), ("contacted", 20), ("qualified", 14), ("proposal_sent", 10), ("negotiation", 7),
            ("won", 9), ("lost", 10)]
PRIORITIES = [("low", 20), ("medium", 50), ("high", 25), ("critical", 5)]
PRODUCTS = ["CRM Suite", "ERP Cloud", "Payroll", "Analytics Add-on", "Support Plan", "Onboarding", None]
SIZES = ["1-10", "11-50", "51-200", "201-500", "500+", None]
DESIGNATIONS = ["CEO", "CTO", "Head of Sales", "Procurement Manager", "Operations Lead", "Founder", None]
REASONS = ["Budget cut", "Chose a competitor", "No response", "Not a fit", "Duplicate entry"]
RECEIVED = ["erp", "website-form", "partner-api"]
LEAD_COLUMNS = ["id", "first_name", "last_name", "email", "phone", "company_name", "designation", "company_size",
                "source", "source_details", "priority", "product_interest", "requirements", "expected_value_cents",
                "city", "state", "country", "address_line1", "zip_code", "assigned_to", "notes", "lead_status",
                "industry_id", "region_id", "timezone", "is_discarded", "discard_reason", "loss_reason",
                "discarded_at", "received_from", "raw_payload", "created_at", "updated_at", "email_norm",
                "phone_norm", "last_name_lower", "company_name_lower"]
HISTORY_COLUMNS = ["entity_type", "entity_id", "old_status", "new_status", "remarks", "status_date", "event",
                   "created_at"]
DUPLICATE_COLUMNS = ["entity_type", "entity_id", "other_type", "other_id", "matched_on", "created_at"]
MEMO_COLUMNS = ["entity_type", "entity_id", "title", "content", "memo_type", "raw_payload", "created_at"]
DAY = 86400.0
def fmt_free(ts):
    """fmt() without the cache (times out of order)."""
    sec = int(ts)
    return "%s.%06dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)), int((ts - sec) * 1e6))


def search_key(text):
    """The service's search key of a name (src/records/search.rs): each character's lower case."""
    return None if text is None else "".join(c.lower() for c in text)


def weighted(rng, pairs):
    values = [v for v, _ in pairs]
    weights = [w for _, w in pairs]
    cumulative, total = [], 0
    for w in weights:
        total += w
        cumulative.append(total)
    return lambda: rng.choices(values, cum_weights=cumulative)[0]


def json_text(value):
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def phone_text(rng, area, number):
    a, b = number // 10000, number % 10000
    form = rng.randrange(5)
    if form == 0:
        return "+1 (%03d) %03d-%04d" % (area, a, b)
    if form == 1:
        return "%03d-%03d-%04d" % (area, a, b)
    if form == 2:
        return "+1.%03d.%03d.%04d" % (area, a, b)
    if form == 3:
        return "(%03d) %03d%04d" % (area, a, b)
    return "+1%03d%03d%04d" % (area, a, b)


def digits(text):
    return "".join(c for c in text if c.isdigit()) or None


def generate(rows):
    """Yields ("lead"|"history"|"duplicate"|"memo", tuple) in insert order."""
    rng = random.Random(9)
    status_of = weighted(rng, STATUSES)
    source_of = weighted(rng, SOURCES)
    priority_of = weighted(rng, PRIORITIES)
    last_names = COMMON_LAST + [
        (a + b + c).capitalize() for a in SYLLABLES for b in SYLLABLES[:10] for c in ("", "son", "er", "ski")
    ]
    end = time.time() - 3600
    start = end - 730 * DAY
    step = (end - start) / max(rows, 1)
    email_pool, phone_pool, grouped = [], [], set()
    special = rows // 2
    for i in range(1, rows + 1):
        created = start + (i - 1) * step + rng.random() * step * 0.9
        updated = min(created + rng.random() * 30 * DAY, end)
        first = rng.choice(FIRST)
        last = None if rng.random() < 0.05 else (
            rng.choice(COMMON_LAST) if rng.random() < 0.5 else rng.choice(last_names))
        company = None if rng.random() < 0.2 else "%s %s %s" % (
            rng.choice(COMPANY_A), rng.choice(COMPANY_B), rng.choice(COMPANY_C))
        email = None
        if rng.random() >= 0.1:
            local = "%s.%s%d" % (first, last or "x", i) if rng.random() < 0.2 else (
                "%s.%s%d" % (first.lower(), (last or "x").lower().replace("'", ""), i))
            email = "%s@%s" % (local, rng.choice(DOMAINS))
        phone = None
        if rng.random() >= 0.15:
            phone = phone_text(rng, 201 + i % 780, (i * 7919 + 12345) % 10_000_000)
        duplicates = []
        if i > 1000 and rng.random() < 0.03:
            by_email = rng.random() < 0.67
            pool = email_pool if by_email else phone_pool
            j, value = pool[rng.randrange(len(pool))]
            if j not in grouped:
                grouped.update((i, j))
                if by_email:
                    email = value.upper() if rng.random() < 0.5 else value.capitalize()
                    duplicates.append((j, "email"))
                else:
                    phone = phone_text(rng, *value)
                    duplicates.append((j, "phone"))
        status = "negotiation" if i == special else status_of()
        discarded = status == "lost" and rng.random() < 0.7 and i != special
        if i % 20 == 0 and i != special and not duplicates and not discarded:
            if email:
                email_pool.append((i, email.lower()))
            if phone:
                ten = digits(phone)[-10:]
                phone_pool.append((i, (int(ten[:3]), int(ten[3:]))))
        city, state, country, tz = rng.choice(CITIES)
        source = source_of()
        expected = None if rng.random() < 0.3 else rng.randrange(50_000, 50_000_000, 100)
        assigned = None if rng.random() < 0.1 else rng.randrange(1, 51)
        fields = {
            "first_name": first, "last_name": last, "email": email, "phone": phone, "company_name": company,
            "designation": rng.choice(DESIGNATIONS), "company_size": rng.choice(SIZES), "source": source,
            "priority": priority_of(), "product_interest": rng.choice(PRODUCTS),
            "requirements": "Needs %d seats and an import of existing contacts" % rng.randrange(5, 500),
            "expected_value": None if expected is None else "%d.%02d" % divmod(expected, 100),
            "city": city, "state": state, "country": country,
            "address_line1": "%d %s Street" % (rng.randrange(1, 999), rng.choice(COMMON_LAST)),
            "zip_code": "%05d" % rng.randrange(100000), "assigned_to": assigned,
            "notes": "Asked for a demo in week %d." % rng.randrange(1, 53) if rng.random() < 0.4 else None,
            "industry_id": rng.randrange(1, 40), "region_id": rng.randrange(1, 12), "timezone": tz,
        }
        raw = "{%s}" % ", ".join('"%s": %s' % (k, json_text(v)) for k, v in fields.items() if v is not None)
        created_text, updated_text = fmt(created), fmt_free(updated)
        reason = rng.choice(REASONS) if discarded else None
        yield "lead", (
            i, first, last, email, phone, company, fields["designation"], fields["company_size"], source,
            "campaign-%d" % rng.randrange(1, 30) if source in ("social_media", "email") else None,
            fields["priority"], fields["product_interest"], fields["requirements"], expected, city, state, country,
            fields["address_line1"], fields["zip_code"], assigned, fields["notes"], status,
            fields["industry_id"], fields["region_id"], tz, discarded, reason,
            "Went with another vendor" if discarded else None, updated_text if discarded else None,
            rng.choice(RECEIVED), raw, created_text, updated_text,
            email.strip().lower() if email else None, digits(phone) if phone else None,
            search_key(last), search_key(company))
        yield "history", ("lead", i, None, "new", "Created", created_text, "new_lead", created_text)
        if discarded:
            yield "history", ("lead", i, "new", "lost", reason, updated_text, "lead_discard", updated_text)
        elif status != "new" and i != special:
            yield "history", ("lead", i, "new", status, None, updated_text, "lead_status_update", updated_text)
        for j, matched_on in duplicates:
            yield "duplicate", ("lead", i, "lead", j, matched_on, created_text)
            yield "duplicate", ("lead", j, "lead", i, matched_on, created_text)
        if i == special:
            flow = ["contacted", "qualified", "proposal_sent", "negotiation"]
            old = "new"
            for n in range(49):
                at = fmt_free(created + (n + 1) * 3600)
                new = flow[n % len(flow)] if n < 48 else "negotiation"
                yield "history", ("lead", i, old, new, "Step %d of the deal" % (n + 1), at,
                                  "lead_status_update", at)
                old = new
            for n in range(50):
                at = fmt_free(created + n * 1800 + 60)
                content = "Call notes %d: discussed pricing, rollout plan and the data import. " % (n + 1) * 3
                yield "memo", ("lead", i, "Follow-up %d" % (n + 1), content.strip(),
                               ["general", "follow_up", "meeting", "call", "email"][n % 5],
                               '{"title": "Follow-up %d"}' % (n + 1), at)


TABLES = {"lead": ("leads", LEAD_COLUMNS), "history": ("status_history", HISTORY_COLUMNS),
          "duplicate": ("possible_duplicates", DUPLICATE_COLUMNS), "memo": ("memos", MEMO_COLUMNS)}


def copy_text(value):
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def write_files(folder, rows):
    """The rows of each table as a file in PostgreSQL's COPY text format."""
    files = {kind: open("%s/%s.tsv" % (folder, kind), "w") for kind in TABLES}
    for kind, row in generate(rows):
        files[kind].write("\t".join(copy_text(v) for v in row) + "\n")
    for f in files.values():
        f.close()


UNESCAPE = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}


def from_copy_text(field):
    if field == "\\N":
        return None
    if "\\" in field:
        out, i = [], 0
        while i < len(field):
            if field[i] == "\\":
                out.append(UNESCAPE[field[i:i + 2]])
                i += 2
            else:
                out.append(field[i])
                i += 1
        return "".join(out)
    return field


def load_sqlite(path, folder):
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 60000")
    conn.execute("PRAGMA cache_size = -262144")
    conn.execute("BEGIN IMMEDIATE")
    for kind, (table, columns) in TABLES.items():
        sql = "INSERT INTO %s (%s) VALUES (%s)" % (table, ", ".join(columns), ", ".join("?" * len(columns)))
        flag = columns.index("is_discarded") if "is_discarded" in columns else None

        def rows():
            with open("%s/%s.tsv" % (folder, kind)) as f:
                for line in f:
                    row = [from_copy_text(v) for v in line.rstrip("\n").split("\t")]
                    if flag is not None:
                        row[flag] = 1 if row[flag] == "t" else 0
                    yield row
        conn.executemany(sql, rows())
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def load_postgres(url, folder):
    script = ["\\set ON_ERROR_STOP on", "begin;"]
    for kind, (table, columns) in TABLES.items():
        script.append("\\copy %s (%s) from '%s/%s.tsv'" % (table, ", ".join(columns), folder, kind))
    script += ["\\o /dev/null", "select setval(pg_get_serial_sequence('leads', 'id'), (select max(id) from leads));",
               "commit;", "analyze leads;", "analyze status_history;", "analyze possible_duplicates;",
               "analyze memos;"]
    subprocess.run(["psql", "-X", "-q", url], input="\n".join(script) + "\n", text=True, check=True)


def main():
    command, target, arg = sys.argv[1], sys.argv[2], sys.argv[3]
    began = time.time()
    if command == "generate":
        write_files(target, int(arg))
        print("generated %d leads in %.1fs" % (int(arg), time.time() - began))
    elif command == "sqlite":
        load_sqlite(target, arg)
        print("loaded the leads into SQLite in %.1fs" % (time.time() - began))
    else:
        load_postgres(target, arg)
        print("loaded the leads into PostgreSQL in %.1fs" % (time.time() - began))


if __name__ == "__main__":
    main()
