"""The store's schema as forward migrations: migration N brings `PRAGMA user_version` to N.

Never edit a migration that has shipped; append a new one. Every table whose rows a console
shows has triggers that append to `changes`, so a reader can ask "what changed since N"
without any writer having to remember to say so.
"""

from __future__ import annotations


def _change_triggers(table: str, kind: str, key: str = "id") -> str:
    """Triggers that log every insert, update and delete of `table` as a change of `kind`."""
    return "\n".join(
        f"CREATE TRIGGER {table}_{op}_change AFTER {op.upper()} ON {table} BEGIN "
        f"INSERT INTO changes(kind, obj_id) VALUES ('{kind}', {row}.{key}); END;"
        for op, row in (("insert", "NEW"), ("update", "NEW"), ("delete", "OLD"))
    )


V1 = f"""
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO meta(key, value) VALUES ('store_id', lower(hex(randomblob(16))));
CREATE TABLE hosts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    driver TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{{}}',
    attrs TEXT NOT NULL DEFAULT '{{}}',
    state TEXT NOT NULL DEFAULT 'init',
    enabled INTEGER NOT NULL DEFAULT 1,
    monitor TEXT NOT NULL DEFAULT '{{}}',
    error TEXT NOT NULL DEFAULT '',
    monitored_at REAL,
    created_at REAL NOT NULL
);
CREATE TABLE templates (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE vms (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    template_id INTEGER REFERENCES templates(id) ON DELETE SET NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pend',
    intent TEXT NOT NULL DEFAULT '',
    host_id INTEGER REFERENCES hosts(id),
    deploy_id TEXT NOT NULL DEFAULT '',
    cpu REAL NOT NULL DEFAULT 0,
    memory INTEGER NOT NULL DEFAULT 0,
    ip TEXT NOT NULL DEFAULT '',
    mac TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    sched TEXT NOT NULL DEFAULT '[]',
    info TEXT NOT NULL DEFAULT '{{}}',
    created_at REAL NOT NULL,
    started_at REAL,
    stopped_at REAL,
    state_at REAL NOT NULL,
    polled_at REAL
);
CREATE INDEX vms_state ON vms(state);
CREATE INDEX vms_host ON vms(host_id);
CREATE TABLE networks (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    first_ip TEXT NOT NULL,
    last_ip TEXT NOT NULL,
    hostname TEXT NOT NULL DEFAULT '',
    config TEXT NOT NULL DEFAULT '{{}}',
    created_at REAL NOT NULL
);
CREATE TABLE leases (
    network_id INTEGER NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    ip TEXT NOT NULL,
    mac TEXT NOT NULL,
    hostname TEXT NOT NULL DEFAULT '',
    vm_id INTEGER REFERENCES vms(id),
    PRIMARY KEY (network_id, ip)
);
CREATE TABLE labs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    template_id INTEGER REFERENCES templates(id),
    network_id INTEGER REFERENCES networks(id),
    seats INTEGER NOT NULL,
    user_pattern TEXT NOT NULL,
    expires_at REAL,
    state TEXT NOT NULL DEFAULT 'active',
    created_at REAL NOT NULL
);
CREATE TABLE seats (
    lab_id INTEGER NOT NULL REFERENCES labs(id) ON DELETE CASCADE,
    seat INTEGER NOT NULL,
    vm_id INTEGER REFERENCES vms(id),
    username TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'deploying',
    message TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (lab_id, seat)
);
CREATE TABLE services (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    template_id INTEGER REFERENCES templates(id),
    burst_template_id INTEGER REFERENCES templates(id),
    min_size INTEGER NOT NULL DEFAULT 0,
    max_size INTEGER NOT NULL DEFAULT 0,
    desired INTEGER NOT NULL DEFAULT 0,
    config TEXT NOT NULL DEFAULT '{{}}',
    created_at REAL NOT NULL
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    obj_id INTEGER,
    level TEXT NOT NULL DEFAULT 'info',
    message TEXT NOT NULL
);
CREATE INDEX events_obj ON events(kind, obj_id);
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    obj_id INTEGER NOT NULL
);
CREATE TABLE leader (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    owner TEXT NOT NULL,
    pid INTEGER NOT NULL,
    hostname TEXT NOT NULL,
    expires_at REAL NOT NULL
);
{_change_triggers("hosts", "host")}
{_change_triggers("templates", "template")}
{_change_triggers("vms", "vm")}
{_change_triggers("networks", "network")}
{_change_triggers("leases", "network", key="network_id")}
{_change_triggers("labs", "lab")}
{_change_triggers("seats", "lab", key="lab_id")}
{_change_triggers("services", "service")}
"""

# EC2 launch records: written before RunInstances is called, so a crash at any point
# leaves enough behind to adopt what was launched or launch it again with the same
# parameters and ClientToken (never a duplicate, never an orphan).
V2 = f"""
CREATE TABLE launches (
    token TEXT PRIMARY KEY,
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    vm_ids TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'prepared',
    error TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);
CREATE INDEX leases_vm ON leases(vm_id);
{_change_triggers("launches", "launch", key="rowid")}
"""

# Labs: each seat's address, SSH port and host key, its password (encrypted with the key
# file next to the store, never in clear), and when its state last changed.
V3 = """
ALTER TABLE labs ADD COLUMN config TEXT NOT NULL DEFAULT '{}';
ALTER TABLE seats ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE seats ADD COLUMN port INTEGER NOT NULL DEFAULT 22;
ALTER TABLE seats ADD COLUMN password TEXT NOT NULL DEFAULT '';
ALTER TABLE seats ADD COLUMN state_at REAL NOT NULL DEFAULT 0;
ALTER TABLE seats ADD COLUMN ready_at REAL;
CREATE INDEX seats_vm ON seats(vm_id);
"""

# The engine lease's epoch (the fencing token): it grows by one at every takeover and is
# kept in meta, so it never goes back even when the leader row is deleted on release.
V4 = """
ALTER TABLE leader ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
INSERT INTO meta(key, value) VALUES ('lease_epoch', '0');
"""

# Ids are never used twice: a deleted service's (or host's, lab's, …) id would otherwise
# go to the next one made, which would then adopt VMs, tags and names meant for the old one.
# The highest id ever given per table is kept here (SQLite reuses max(id) + 1 otherwise).
V5 = """
CREATE TABLE sequences (
    name TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);
INSERT INTO sequences(name, last) SELECT 'hosts', COALESCE(MAX(id), 0) FROM hosts;
INSERT INTO sequences(name, last) SELECT 'templates', COALESCE(MAX(id), 0) FROM templates;
INSERT INTO sequences(name, last) SELECT 'vms', COALESCE(MAX(id), 0) FROM vms;
INSERT INTO sequences(name, last) SELECT 'networks', COALESCE(MAX(id), 0) FROM networks;
INSERT INTO sequences(name, last) SELECT 'labs', COALESCE(MAX(id), 0) FROM labs;
INSERT INTO sequences(name, last) SELECT 'services', COALESCE(MAX(id), 0) FROM services;
"""

# History, kept small (store/history.py): one row per point per kind, holding every object
# measured then in a blob; tiers of resolution pruned by the pass that writes. No change
# triggers: each record() appends one 'history' change itself (one per pass, not per row).
V6 = """
CREATE TABLE history (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    tier INTEGER NOT NULL,
    at REAL NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX history_at ON history(kind, tier, at);
"""

# Who asked: every event carries the unix user and pid of the request that caused it (empty
# for the engine's own), so `onetui events --user alice` is an audit trail; a lab records
# the unix user who owns it (labstaff may act only on their own labs; '' = admins only).
V_ACCESS = """
ALTER TABLE events ADD COLUMN user TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN pid INTEGER;
CREATE INDEX events_user ON events(user, id);
ALTER TABLE labs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
"""

# A lab's owner by uid too: a name can be deleted and given to someone else, who would
# inherit the labs; ownership is checked by uid (NULL for labs from before: admins only).
V_OWNER_UID = """
ALTER TABLE labs ADD COLUMN owner_uid INTEGER;
"""

MIGRATIONS: list[str] = [V1, V2, V3, V4, V5, V6, V_ACCESS, V_OWNER_UID]
