//! The hook traits a plugin implements and the macros that export them.
//!
//! Each macro wires the plugin's type to the generated bindings of exactly one
//! WIT world, so the component exports the hooks the plugin implements and no
//! others.

use crate::{Argument, Call, Outcome, Refusal, Response};

/// A plugin that reshapes a tool call's arguments before the webhook is called.
///
/// Export it with [`export_params!`](crate::export_params) (or
/// [`export_transformer!`](crate::export_transformer) together with
/// [`ResponseTransform`]).
pub trait ParamsTransform {
    /// Returns the full list of arguments to send: it replaces the call's
    /// arguments, so pass through the ones you do not change. An `Err` refuses
    /// the call, and the refusal's `say` is spoken to the caller.
    fn transform_params(call: Call) -> Result<Vec<Argument>, Refusal>;
}

/// A plugin that reshapes the webhook's response before the model sees it and
/// the receptionist speaks it.
///
/// Export it with [`export_response!`](crate::export_response) (or
/// [`export_transformer!`](crate::export_transformer) together with
/// [`ParamsTransform`]).
pub trait ResponseTransform {
    /// Turns the webhook's response into an [`Outcome`]: `result` must be JSON
    /// text; `speech`, when set, is a sentence the receptionist may say as is.
    /// An `Err` refuses the call.
    fn transform_response(call: Call, response: Response) -> Result<Outcome, Refusal>;
}

/// Exports a [`ParamsTransform`] as the component's `transform-params` hook
/// (world `params-transformer`). Call it once, at the crate root of a `cdylib`.
#[macro_export]
macro_rules! export_params {
    ($ty:ty) => {
        const _: () = {
            struct __SwitchboardParams;

            impl $crate::bindings::params::Guest for __SwitchboardParams {
                fn transform_params(
                    call: $crate::Call,
                ) -> ::std::result::Result<::std::vec::Vec<$crate::Argument>, $crate::Refusal>
                {
                    <$ty as $crate::ParamsTransform>::transform_params(call)
                }
            }

            $crate::bindings::params::export!(
                __SwitchboardParams with_types_in $crate::bindings::params
            );
        };
    };
}

/// Exports a [`ResponseTransform`] as the component's `transform-response` hook
/// (world `response-transformer`). Call it once, at the crate root of a `cdylib`.
#[macro_export]
macro_rules! export_response {
    ($ty:ty) => {
        const _: () = {
            struct __SwitchboardResponse;

            impl $crate::bindings::response::Guest for __SwitchboardResponse {
                fn transform_response(
                    call: $crate::Call,
                    response: $crate::Response,
                ) -> ::std::result::Result<$crate::Outcome, $crate::Refusal> {
                    <$ty as $crate::ResponseTransform>::transform_response(call, response)
                }
            }

            $crate::bindings::response::export!(
                __SwitchboardResponse with_types_in $crate::bindings::response
            );
        };
    };
}

/// Exports a type implementing both [`ParamsTransform`] and
/// [`ResponseTransform`] as both hooks (world `transformer`). Call it once, at
/// the crate root of a `cdylib`.
#[macro_export]
macro_rules! export_transformer {
    ($ty:ty) => {
        const _: () = {
            struct __SwitchboardTransformer;

            impl $crate::bindings::transformer::Guest for __SwitchboardTransformer {
                fn transform_params(
                    call: $crate::Call,
                ) -> ::std::result::Result<::std::vec::Vec<$crate::Argument>, $crate::Refusal>
                {
                    <$ty as $crate::ParamsTransform>::transform_params(call)
                }

                fn transform_response(
                    call: $crate::Call,
                    response: $crate::Response,
                ) -> ::std::result::Result<$crate::Outcome, $crate::Refusal> {
                    <$ty as $crate::ResponseTransform>::transform_response(call, response)
                }
            }

            $crate::bindings::transformer::export!(
                __SwitchboardTransformer with_types_in $crate::bindings::transformer
            );
        };
    };
}
