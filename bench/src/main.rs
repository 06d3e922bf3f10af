//! `switchboard-bench`: runs the harness and prints the Markdown report (see BENCHMARKS.md).
//! `./bench.sh` builds both binaries in release and runs this.

#![forbid(unsafe_code)]

#[global_allocator]
static ALLOCATOR: switchboard::Allocator = switchboard::Allocator;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use switchboard_bench::{Options, Parts};

const USAGE: &str = "\
usage: switchboard-bench [--quick] [--only http,sandbox,startup,memory] [--rows 1,2,3,4]
                         [--seconds S] [--requests N] [--switchboard PATH]

  --quick          tiny counts: proves every row runs; the figures mean nothing
  --only LIST      run only these parts (comma separated)
  --rows LIST      of rows 1-4, run only these (e.g. 2,4 to profile row 4 beside
                   its floor); a ratio needs row 2
  --seconds S      length of each throughput run (default 5)
  --requests N     timed requests per latency run (default 5000)
  --switchboard P  the switchboard binary (default: next to this one)";

fn main() -> ExitCode {
    match parse(std::env::args().skip(1).collect()) {
        Ok(Some(opts)) => {
            match switchboard_bench::run(&opts, |step| eprintln!("running: {step}")) {
                Ok(report) => {
                    print!("{}", machine());
                    print!("{}", report.render());
                    if report.checks().iter().all(|c| c.met) {
                        ExitCode::SUCCESS
                    } else {
                        eprintln!("some targets were not met");
                        ExitCode::from(2)
                    }
                }
                Err(e) => {
                    eprintln!("the benchmark failed: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Ok(None) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}\n\n{USAGE}");
            ExitCode::from(64)
        }
    }
}

fn parse(args: Vec<String>) -> Result<Option<Options>, String> {
    let default_bin = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("switchboard")))
        .unwrap_or_else(|| PathBuf::from("switchboard"));
    let quick = args.iter().any(|a| a == "--quick");
    let mut opts = if quick {
        Options::quick(default_bin)
    } else {
        Options::full(default_bin)
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--quick" => {}
            "-h" | "--help" => return Ok(None),
            "--switchboard" => opts.switchboard = PathBuf::from(value()?),
            "--seconds" => {
                let s: f64 = value()?
                    .parse()
                    .map_err(|_| "--seconds takes a number".to_owned())?;
                if !(s > 0.0 && s <= 600.0) {
                    return Err("--seconds must be above 0 and at most 600".into());
                }
                opts.throughput_time = Duration::from_secs_f64(s);
            }
            "--requests" => {
                let n: usize = value()?
                    .parse()
                    .map_err(|_| "--requests takes a whole number".to_owned())?;
                if n == 0 {
                    return Err("--requests must be at least 1".into());
                }
                opts.latency_requests = n;
                opts.sandbox_calls = n;
            }
            "--rows" => {
                let mut rows = Vec::new();
                for row in value()?.split(',') {
                    match row.trim().parse::<u8>() {
                        Ok(n @ 1..=4) => rows.push(n),
                        _ => return Err(format!("--rows: '{row}' is not one of 1, 2, 3, 4")),
                    }
                }
                opts.rows = rows;
            }
            "--only" => {
                let mut parts = Parts::NONE;
                for part in value()?.split(',') {
                    match part.trim() {
                        "http" => parts.http = true,
                        "sandbox" => parts.sandbox = true,
                        "startup" => parts.startup = true,
                        "memory" => parts.memory = true,
                        other => return Err(format!("--only: unknown part '{other}'")),
                    }
                }
                opts.parts = parts;
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(Some(opts))
}

/// The machine, for the record.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "Machine: {cpu}, {cores} cores, Linux {}; {} build.\n\n",
        kernel.trim(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rows_takes_row_numbers_and_refuses_anything_else() {
        let opts = parse(args(&["--rows", "2, 4"])).unwrap().unwrap();
        assert_eq!(opts.rows, vec![2, 4]);
        assert!(parse(args(&[])).unwrap().unwrap().rows.is_empty());
        for bad in ["5", "0", "x", "2,,4", ""] {
            let err = parse(args(&["--rows", bad])).expect_err(bad);
            assert!(err.contains("--rows"), "{bad}: {err}");
        }
        assert!(parse(args(&["--rows"])).is_err());
    }
}
