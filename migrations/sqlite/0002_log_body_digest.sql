-- A 401 row keeps only the first 4 KiB of its body; these record the whole body's size and
-- SHA-256 (hex). Null on rows whose body is kept whole.
alter table webhook_logs add column request_body_bytes integer;
alter table webhook_logs add column request_body_sha256 text;
