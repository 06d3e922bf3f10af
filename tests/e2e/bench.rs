//! A smoke run of the benchmark harness (`bench/`) with tiny counts against the real binary,
//! so it never rots: every row, the restart and the memory run must be produced. No figure
//! is asserted — timings on a shared test machine mean nothing.

use switchboard_bench::{Options, run};

use crate::utils::binary;

#[test]
fn the_benchmark_harness_produces_every_row() {
    let report = run(&Options::quick(binary()), |_| {}).expect("the harness runs");
    let names: Vec<_> = report.rows.iter().map(|r| r.name.as_str()).collect();
    for prefix in ["1.", "2.", "3.", "4.", "5a.", "5b.", "5c."] {
        assert!(
            names.iter().any(|n| n.starts_with(prefix)),
            "row {prefix} missing from {names:?}"
        );
    }
    for row in &report.rows {
        assert!(row.latency.samples > 0 && row.throughput > 0.0, "{row:?}");
        // Rows 1–4 read the threads' CPU from /proc (Linux, as in CI); the sandbox rows do not.
        let http_row = !row.name.starts_with('5');
        assert_eq!(row.server_cpu.is_some(), http_row, "{row:?}");
        assert_eq!(row.others_cpu.is_some(), http_row, "{row:?}");
    }
    let startup = report.startup.as_ref().expect("the restart ran");
    assert_eq!(startup.ready, startup.components, "{startup:?}");
    assert_eq!(startup.compilations, 0, "nothing recompiled: {startup:?}");
    let memory = report.memory.as_ref().expect("the memory run ran");
    assert!(memory.rss_bytes > 0, "{memory:?}");
    // Ratios and targets are computed, whatever they say on this machine.
    assert!(report.ratios("3.").is_some() && report.ratios("4.").is_some());
    let rendered = report.render();
    assert!(
        rendered.contains("| target | this run | met |"),
        "{rendered}"
    );
}

#[test]
fn rows_picks_which_of_rows_1_to_4_run() {
    let mut opts = Options::quick(binary());
    opts.parts = switchboard_bench::Parts {
        http: true,
        ..switchboard_bench::Parts::NONE
    };
    opts.rows = vec![2, 4];
    let report = run(&opts, |_| {}).expect("the harness runs");
    let names: Vec<_> = report.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names[0].starts_with("2.") && names[1].starts_with("4."),
        "{names:?}"
    );
    // Row 4 is still compared with the proxy; row 3 did not run, so it has no ratio.
    assert!(report.ratios("4.").is_some() && report.ratios("3.").is_none());
}
