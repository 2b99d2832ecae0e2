-- Lists by creation time, far back (SQLite). A list is newest first (`id` descending), and a
-- record's `created_at` is taken when its request arrives, so it rises with `id` but not
-- strictly: requests commit in another order than they arrived, and several instances have
-- clocks of their own. So `created_until` far back cannot be answered by reading the index of
-- (created_at, id) backwards: its newest matches by id may lie anywhere in it, and walking the
-- primary key from the newest record reads every newer record first. created_blocks tells where
-- the matches can start: ids are grouped in blocks of 1,024 (`id / 1024`), and each block has
-- rows holding creation times such that every record of the block was created at or after one
-- of them. The newest block with a time before the bound holds the newest id that can match,
-- and the walk down the primary key starts at that block's end (src/records/list.rs).
--
-- A record adds a row only when its block has none at or before its own time: the block's first
-- record, and one created before every earlier record of its block. Rows are only inserted,
-- never updated, so concurrent writes never wait for each other here, and a row stays when its
-- record is deleted (the bound is then only looser). The PostgreSQL twin keeps the same table.

create table created_blocks (
    -- The records' table: pre_leads, leads, customers.
    kind text not null,
    -- id / 1024.
    block bigint not null,
    created_at text not null,
    primary key (kind, block, created_at)
) without rowid;

insert into created_blocks (kind, block, created_at)
select 'pre_leads', id / 1024, min(created_at) from pre_leads group by id / 1024;
insert into created_blocks (kind, block, created_at)
select 'leads', id / 1024, min(created_at) from leads group by id / 1024;
insert into created_blocks (kind, block, created_at)
select 'customers', id / 1024, min(created_at) from customers group by id / 1024;

create trigger pre_leads_created_block after insert on pre_leads
when not exists (select 1 from created_blocks
    where kind = 'pre_leads' and block = new.id / 1024 and created_at <= new.created_at) begin
    insert or ignore into created_blocks (kind, block, created_at) values ('pre_leads', new.id / 1024, new.created_at);
end;
create trigger pre_leads_created_block_change after update of id, created_at on pre_leads
when not exists (select 1 from created_blocks
    where kind = 'pre_leads' and block = new.id / 1024 and created_at <= new.created_at) begin
    insert or ignore into created_blocks (kind, block, created_at) values ('pre_leads', new.id / 1024, new.created_at);
end;

create trigger leads_created_block after insert on leads
when not exists (select 1 from created_blocks
    where kind = 'leads' and block = new.id / 1024 and created_at <= new.created_at) begin
    insert or ignore into created_blocks (kind, block, created_at) values ('leads', new.id / 1024, new.created_at);
end;
create trigger leads_created_block_change after update of id, created_at on leads
when not exists (select 1 from created_blocks
    where kind = 'leads' and block = new.id / 1024 and created_at <= new.created_at) begin
    insert or ignore into created_blocks (kind, block, created_at) values ('leads', new.id / 1024, new.created_at);
end;

create trigger customers_created_block after insert on customers
when not exists (select 1 from created_blocks
    where kind = 'customers' and block = new.id / 1024 and created_at <= new.created_at) begin
    insert or ignore into created_blocks (kind, block, created_at) values ('customers', new.id / 1024, new.created_at);
end;
create trigger customers_created_block_change after update of id, created_at on customers
when not exists (select 1 from created_blocks
    where kind = 'customers' and block = new.id / 1024 and created_at <= new.created_at) begin
    insert or ignore into created_blocks (kind, block, created_at) values ('customers', new.id / 1024, new.created_at);
end;
