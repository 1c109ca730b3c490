//! The `ferrite` command. Each subcommand lives in its own module with an
//! `Args` struct and a `run` function; adding one is an enum variant and a
//! match arm here.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod check;
mod freeze;
mod inspect;
mod rewrite;
mod run;
mod serve;
mod tensors;

#[derive(Parser)]
#[command(
    name = "ferrite",
    version,
    about = "Inspect and run TensorFlow Lite models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Inspect(inspect::Args),
    Run(run::Args),
    Bench(bench::Args),
    Rewrite(rewrite::Args),
    Check(check::Args),
    Freeze(freeze::Args),
    Serve(serve::Args),
}

fn dispatch(command: Command, out: &mut dyn Write) -> anyhow::Result<()> {
    match command {
        Command::Inspect(a) => inspect::run(a, out),
        Command::Run(a) => run::run(a, out),
        Command::Bench(a) => bench::run(a, out),
        Command::Rewrite(a) => rewrite::run(a, out),
        Command::Check(a) => check::run(a, out),
        Command::Freeze(a) => freeze::run(a, out),
        Command::Serve(a) => serve::run(a, out),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: clap's own output, success.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // Bare `ferrite`: the help text, but still a usage error.
            let _ = e.print();
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("{} (see `ferrite --help`)", usage_error(&e));
            return ExitCode::from(2);
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = dispatch(cli.command, &mut out).and_then(|()| Ok(out.flush()?));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`ferrite inspect m | head`) is not a failure.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            // Problems with the model (unreadable, malformed) are the
            // caller's input, like usage errors; the rest are failures.
            let input_error = e.chain().any(|c| {
                c.is::<ferrite_format::FormatError>()
                    || c.downcast_ref::<ferrite::Error>().is_some_and(|f| {
                        matches!(
                            f.kind(),
                            ferrite::ErrorKind::MalformedModel | ferrite::ErrorKind::Io
                        )
                    })
            });
            ExitCode::from(if input_error { 2 } else { 1 })
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<io::Error>())
        .any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

/// The error and its causes joined by ": ", skipping a cause whose text the
/// message already holds (FormatError::Io prints its io::Error itself).
fn one_line(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if msg.contains(&text) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&text);
    }
    msg.replace('\n', " ")
}

/// Clap's message as one line: the lines before its usage block, joined.
fn usage_error(e: &clap::Error) -> String {
    let text = e.to_string();
    let lines: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        "error: invalid arguments".into()
    } else {
        lines.join(" ")
    }
}
