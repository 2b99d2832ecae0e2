-- Lists by creation time (PostgreSQL): `created_since` / `created_until` are answered from an
-- index of (created_at, id), so a page of records created before or after a time reads the index
-- entries in that range, not every newer record. The SQLite twin makes the same indexes.

create index pre_leads_created on pre_leads (created_at, id);
create index leads_created on leads (created_at, id);
create index customers_created on customers (created_at, id);
