//! Bindings generated from `wit/0.1.0` (package `switchboard:tools@0.1.0`), one
//! module per world.
//!
//! The shared interfaces (`types`, `host`) are generated once, in [`params`], and
//! the other two worlds point at them through `with:`, so a `Call` is the same
//! Rust type whichever hook receives it.
//!
//! Each world's export macro is public and emits the world's "imports and
//! exports" type section in the *plugin* crate that invokes it. Only the macro a
//! plugin calls decides which functions its component exports: a params-only
//! plugin exports `transform-params` and nothing else.
//!
//! Plugins do not use this module directly: they call
//! [`export_params!`](crate::export_params), [`export_response!`](crate::export_response)
//! or [`export_transformer!`](crate::export_transformer).

/// World `params-transformer`; also home of the shared `types` and `host` bindings.
pub mod params {
    wit_bindgen::generate!({
        world: "params-transformer",
        path: "../../wit/0.1.0",
        pub_export_macro: true,
        default_bindings_module: "switchboard_plugin::bindings::params",
        runtime_path: "switchboard_plugin::__private::wit_bindgen::rt",
        additional_derives: [PartialEq],
    });
}

/// World `response-transformer`.
pub mod response {
    wit_bindgen::generate!({
        world: "response-transformer",
        path: "../../wit/0.1.0",
        with: {
            "switchboard:tools/types@0.1.0": switchboard_plugin::bindings::params::switchboard::tools::types,
            "switchboard:tools/host@0.1.0": switchboard_plugin::bindings::params::switchboard::tools::host,
        },
        pub_export_macro: true,
        default_bindings_module: "switchboard_plugin::bindings::response",
        runtime_path: "switchboard_plugin::__private::wit_bindgen::rt",
    });
}

/// World `transformer` (both hooks).
pub mod transformer {
    wit_bindgen::generate!({
        world: "transformer",
        path: "../../wit/0.1.0",
        with: {
            "switchboard:tools/types@0.1.0": switchboard_plugin::bindings::params::switchboard::tools::types,
            "switchboard:tools/host@0.1.0": switchboard_plugin::bindings::params::switchboard::tools::host,
        },
        pub_export_macro: true,
        default_bindings_module: "switchboard_plugin::bindings::transformer",
        runtime_path: "switchboard_plugin::__private::wit_bindgen::rt",
    });
}
