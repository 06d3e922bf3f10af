//! Hostile components written by hand in WAT, for shapes a Rust guest never takes: a core
//! `start` function that blocks, and modules built only to be expensive to compile.

/// A component whose core `start` function blocks on a 20 s WASI timer (a component-level
/// hand-written one: Rust does not emit `start` sections). It exports `transform-params`
/// (with a signature the upload check would refuse, were it to get that far).
pub fn blocking_start() -> Vec<u8> {
    wat::parse_str(
        r#"(component
            (import "wasi:io/poll@0.2.0" (instance $poll
                (export "pollable" (type $p (sub resource)))
                (export "[method]pollable.block" (func (param "self" (borrow $p))))))
            (alias export $poll "pollable" (type $pollable))
            (import "wasi:clocks/monotonic-clock@0.2.0" (instance $clock
                (alias outer 1 $pollable (type $p))
                (export "pollable" (type $q (eq $p)))
                (export "subscribe-duration" (func (param "when" u64) (result (own $q))))))
            (core func $subscribe (canon lower (func $clock "subscribe-duration")))
            (core func $block (canon lower (func $poll "[method]pollable.block")))
            (core module $m
                (import "" "subscribe" (func $subscribe (param i64) (result i32)))
                (import "" "block" (func $block (param i32)))
                (func $start (call $block (call $subscribe (i64.const 20000000000))))
                (start $start)
                (func (export "run")))
            (core instance $i (instantiate $m (with "" (instance
                (export "subscribe" (func $subscribe))
                (export "block" (func $block))))))
            (func (export "transform-params") (canon lift (core func $i "run"))))"#,
    )
    .expect("the blocking-start component assembles")
}

/// A component that is expensive to compile: `functions` functions of `ops` additions each
/// (refused after compiling, for its hook's signature).
pub fn compile_bomb(functions: usize, ops: usize, salt: usize) -> Vec<u8> {
    let mut text = String::from("(component (core module $m\n");
    let body = "local.get 0 i32.const 7 i32.mul local.get 0 i32.add local.set 0 ".repeat(ops);
    for f in 0..functions {
        text.push_str(&format!(
            "(func (export \"f{f}\") (param i32) (result i32) i32.const {salt} drop {body} local.get 0)\n"
        ));
    }
    text.push_str(
        "(func (export \"run\")))
         (core instance $i (instantiate $m))
         (func (export \"transform-params\") (canon lift (core func $i \"run\"))))",
    );
    wat::parse_str(&text).expect("the bomb assembles")
}
