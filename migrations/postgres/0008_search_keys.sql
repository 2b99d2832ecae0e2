-- Searching lists by `q` (PostgreSQL): a prefix of the e-mail, last name, company name or phone
-- digits is answered as a range of an index per column (`key >= prefix and key < successor`).
-- That range is exactly "starts with" only in code point order, so the searched keys use the
-- "C" collation (SQLite compares text that way already): the normalised e-mail and phone, and a
-- lower-case key of the last name and company name, stored by the database as a generated
-- column (lower-cased by the database's own rules), so no write path has to remember it. The
-- SQLite twin makes the same columns and indexes.

alter table pre_leads alter column email_norm type text collate "C", alter column phone_norm type text collate "C",
    add column last_name_lower text collate "C" generated always as (lower(last_name)) stored,
    add column company_name_lower text collate "C" generated always as (lower(company_name)) stored;
alter table leads alter column email_norm type text collate "C", alter column phone_norm type text collate "C",
    add column last_name_lower text collate "C" generated always as (lower(last_name)) stored,
    add column company_name_lower text collate "C" generated always as (lower(company_name)) stored;
alter table customers alter column email_norm type text collate "C", alter column phone_norm type text collate "C",
    add column last_name_lower text collate "C" generated always as (lower(last_name)) stored,
    add column company_name_lower text collate "C" generated always as (lower(company_name)) stored;

create index pre_leads_last_name_lower on pre_leads (last_name_lower);
create index pre_leads_company_name_lower on pre_leads (company_name_lower);
create index leads_last_name_lower on leads (last_name_lower);
create index leads_company_name_lower on leads (company_name_lower);
create index customers_last_name_lower on customers (last_name_lower);
create index customers_company_name_lower on customers (company_name_lower);
