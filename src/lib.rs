//! Newsdesk: the content management system of a corporate news network.

pub mod app;
pub mod articles;
pub mod audit;
pub mod auth;
pub mod channels;
pub mod comments;
pub mod config;
pub mod db;
pub mod error;
pub mod generate;
pub mod media;
pub mod notifications;
pub mod readers;
pub mod roles;
pub mod search;
pub mod secret;
pub mod seed;
pub mod settings;
pub mod state;
pub mod stats;
pub mod topics;
pub mod tree;
pub mod units;
pub mod users;
pub mod web;
pub mod workflow;
