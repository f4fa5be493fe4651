-- The four layers of the warehouse and the extension the search layer needs.
create schema if not exists raw;
create schema if not exists core;
create schema if not exists search;
create schema if not exists ops;
create extension if not exists vector;
