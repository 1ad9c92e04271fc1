-- What a DBA does once before dbcred can hand out read-only users on the `app` database. Run by
-- scripts/demo.sh as the superuser `postgres`; safe to run again (it starts from scratch).
--   shop.orders     rows the issued users may read (through the group role)
--   shop.customers  a table they may not read
--   orders_readers  the group role the DatabaseRole's memberOf names; the operator's admin login
--                   holds it WITH ADMIN OPTION, which is what lets it grant it (no SUPERUSER needed)
\set ON_ERROR_STOP on
DROP SCHEMA IF EXISTS shop CASCADE;
DROP ROLE IF EXISTS orders_readers;

CREATE SCHEMA shop;
CREATE TABLE shop.orders (id int PRIMARY KEY, item text NOT NULL, amount numeric(10, 2) NOT NULL);
INSERT INTO shop.orders VALUES (1, 'coffee beans', 14.50), (2, 'grinder', 89.00), (3, 'filter papers', 3.20);
CREATE TABLE shop.customers (id int PRIMARY KEY, email text NOT NULL);
INSERT INTO shop.customers VALUES (1, 'alice@example.com');

CREATE ROLE orders_readers NOLOGIN;
GRANT USAGE ON SCHEMA shop TO orders_readers;
GRANT SELECT ON shop.orders TO orders_readers;
GRANT orders_readers TO dbcred_admin WITH ADMIN OPTION;
