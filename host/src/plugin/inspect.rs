//! Upload checks, in the order a hostile upload meets them: it must be a WebAssembly
//! *component* (not a core module, not random bytes), it must validate completely before
//! anything is compiled, it may import only our host interface and the harmless WASI
//! interfaces a Rust guest's std needs, and it must export at least one of our hooks with
//! the right signature. Every refusal says exactly what was wrong.

use wasmparser::{Parser, Validator, WasmFeatures};
use wasmtime::{
    Engine,
    component::{Component, types::ComponentItem},
};

use super::Hook;

/// Why an upload was refused (answered as 422 with this text).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Interfaces a component may import, by name without the `@version` suffix. Served with
/// no filesystem, no sockets, no environment and no arguments.
const ALLOWED_IMPORTS: &[&str] = &[
    "switchboard:tools/host",
    "switchboard:tools/types",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
];

/// Checks the bytes before compiling: component or not, and full validation.
pub fn check_bytes(bytes: &[u8]) -> Result<(), Refused> {
    if bytes.is_empty() {
        return Err(Refused("the upload is empty".into()));
    }
    if Parser::is_core_wasm(bytes) {
        return Err(Refused(
            "this is a core WebAssembly module, not a component; build for the wasm32-wasip2 \
             target (or wrap it with `wasm-tools component new`)"
                .into(),
        ));
    }
    if !Parser::is_component(bytes) {
        return Err(Refused(
            "this is not a WebAssembly component (it does not start with the component header)"
                .into(),
        ));
    }
    Validator::new_with_features(WasmFeatures::default())
        .validate_all(bytes)
        .map_err(|e| Refused(format!("the component is not valid WebAssembly: {e}")))?;
    Ok(())
}

/// Checks what a compiled component imports and exports; answers its hooks.
pub fn check_interface(engine: &Engine, component: &Component) -> Result<Vec<Hook>, Refused> {
    let ty = component.component_type();
    let mut refused = Vec::new();
    for (name, _) in ty.imports(engine) {
        let base = name.split('@').next().unwrap_or(name);
        if !ALLOWED_IMPORTS.contains(&base) {
            refused.push(name.to_owned());
        }
    }
    if !refused.is_empty() {
        return Err(Refused(format!(
            "the component imports {}, which Switchboard does not provide: components get no \
             filesystem, network, environment or arguments; only switchboard:tools/host and \
             WASI cli/io/clocks/random",
            refused.join(", ")
        )));
    }
    let mut hooks = Vec::new();
    for (name, item) in ty.exports(engine) {
        let hook = match name {
            "transform-params" => Hook::Params,
            "transform-response" => Hook::Response,
            _ => continue,
        };
        if !matches!(item.ty, ComponentItem::ComponentFunc(_)) {
            return Err(Refused(format!("the export {name} is not a function")));
        }
        hooks.push(hook);
    }
    if hooks.is_empty() {
        return Err(Refused(
            "the component exports neither transform-params nor transform-response; build it \
             against a world of switchboard:tools@0.1.0 (see wit/0.1.0)"
                .into(),
        ));
    }
    hooks.sort();
    Ok(hooks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_component() {
        let core = b"\0asm\x01\0\0\0";
        assert!(
            check_bytes(core)
                .unwrap_err()
                .0
                .contains("core WebAssembly module")
        );
        assert!(check_bytes(b"").unwrap_err().0.contains("empty"));
        assert!(
            check_bytes(b"hello world, not wasm")
                .unwrap_err()
                .0
                .contains("not a WebAssembly component")
        );
        // A component header followed by garbage.
        let mut junk = b"\0asm\x0d\0\x01\0".to_vec();
        junk.extend_from_slice(&[0xff; 32]);
        assert!(check_bytes(&junk).unwrap_err().0.contains("not valid"));
    }
}
