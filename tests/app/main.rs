//! Newsdesk's integration tests: the real app over HTTP against a real
//! PostgreSQL, one fresh database per test.

mod helpers;
mod proxy;

mod administration;
mod all_stories;
mod api;
mod articles;
mod backup;
mod cache;
mod channels;
mod cli;
mod comments;
mod desk;
mod duties;
mod edge;
mod faults;
mod health;
mod import;
mod layering;
mod legacy;
mod login;
mod mail;
mod mariadb;
mod media;
mod migrations;
mod observability;
mod portal;
mod readme;
mod replicas;
mod scope;
mod search;
mod staff;
mod stats;
mod webhooks;
