//! `deviceflow`: sign in from any terminal with the OAuth 2.0 Device Authorization
//! Grant (RFC 8628), for people (stderr) and agents (`--json`, NDJSON on stdout).

mod args;
mod browser;
mod clock;
mod demo;
mod dpop;
mod drive;
mod exit;
mod fsutil;
mod handoff;
mod human;
mod interrupt;
mod keyring_store;
mod lifecycle;
mod login;
mod mcp;
mod ndjson;
mod plan;
mod prompt_args;
mod serve;
mod settings;
mod store;
mod transport;

/// The server's allocator: with it `deviceflow serve` answers ~7% more device authorizations
/// per CPU-second than on glibc's malloc (bench/server/README.md); musl's is slower still.
#[cfg(feature = "server")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use args::{Cli, Command};
use clap::Parser;
use deviceflow::display::clean_text;

fn main() {
    let cli = Cli::parse();
    interrupt::install();
    let json = cli.json;
    let profile = cli.profile.clone();
    let result = settings::configure(cli.http_timeout).and_then(|()| match cli.command {
        Command::Login(a) => login::run(a, &profile, json),
        Command::Status => lifecycle::status(&profile, json),
        Command::Token(a) => handoff::token(&profile, json, &a),
        Command::GitCredential(a) => handoff::git_credential(&profile, &a),
        Command::Exec(a) => handoff::exec(&profile, &a),
        Command::Refresh => lifecycle::refresh(&profile, json),
        Command::Logout(a) => lifecycle::logout(&profile, json, a.force),
        Command::Serve(a) => serve::serve(a, json),
        Command::Demo(a) => demo::demo(a, &profile, json),
        Command::Mcp(a) => mcp::run(a),
    });
    match result {
        Ok(()) => std::process::exit(exit::OK),
        Err(e) => {
            if !e.silent {
                if json {
                    ndjson::error_of(&e);
                } else {
                    human::say(&format!("error: {} ({})", clean_text(&e.message), e.code));
                }
            }
            std::process::exit(e.exit)
        }
    }
}
