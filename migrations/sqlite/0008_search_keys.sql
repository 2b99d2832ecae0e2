-- Searching lists by `q` (SQLite): a prefix of the e-mail, last name, company name or phone digits
-- is answered as a range of an index per column (`key >= prefix and key < successor`), which
-- both engines compare in code point order. The e-mail and phone are already kept normalised
-- (email_norm, phone_norm); the last name and company name get a lower-case key, computed by the
-- database (a virtual generated column here, a stored one on PostgreSQL), so no write path has to
-- remember it. The PostgreSQL twin makes the same columns and indexes.

alter table pre_leads add column last_name_lower text generated always as (lower(last_name)) virtual;
alter table pre_leads add column company_name_lower text generated always as (lower(company_name)) virtual;
alter table leads add column last_name_lower text generated always as (lower(last_name)) virtual;
alter table leads add column company_name_lower text generated always as (lower(company_name)) virtual;
alter table customers add column last_name_lower text generated always as (lower(last_name)) virtual;
alter table customers add column company_name_lower text generated always as (lower(company_name)) virtual;

create index pre_leads_last_name_lower on pre_leads (last_name_lower);
create index pre_leads_company_name_lower on pre_leads (company_name_lower);
create index leads_last_name_lower on leads (last_name_lower);
create index leads_company_name_lower on leads (company_name_lower);
create index customers_last_name_lower on customers (last_name_lower);
create index customers_company_name_lower on customers (company_name_lower);
