//! The `#[unified_scheduler::test]` attribute. Use it through the `unified-scheduler` crate
//! with its `macros` feature, which re-exports it as `unified_scheduler::test` and documents
//! it there, with examples; the expansion names paths of that crate.

mod args;
mod params;

use proc_macro::TokenStream;
use quote::quote;
use syn::{ItemFn, parse_macro_input};

/// Runs an async (or plain) test body on a `TestScheduler` over seeds, injecting its
/// parameters by type. Documented, with examples, as `unified_scheduler::test`.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut args = args::Args::default();
    let parser = syn::meta::parser(|meta| args.parse(meta));
    parse_macro_input!(attr with parser);
    let function = parse_macro_input!(item as ItemFn);
    expand(&args, function)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The `#[test] fn` that runs `function` (now nested inside it, under the same name).
fn expand(args: &args::Args, function: ItemFn) -> syn::Result<proc_macro2::TokenStream> {
    let count = params::injected(&function.sig)?.len();
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = function;
    let name = &sig.ident;
    let name_str = name.to_string();
    let inject =
        (0..count).map(|_| quote!(::unified_scheduler::__private::Inject::inject(&__test)));
    let call = quote!(#name(#(#inject),*));
    // A plain `fn` runs inside the seed's `block`, as an async body does.
    let body = if sig.asyncness.is_some() {
        call
    } else {
        quote!(async move { #call })
    };
    let seeds = args.seeds();
    let config = args.config();
    Ok(quote! {
        #(#attrs)*
        #[::core::prelude::v1::test]
        #vis fn #name() {
            #sig #block

            // What the replay line needs to know: settled here, in the test's own crate.
            static __SITE: ::unified_scheduler::__private::TestSite =
                ::unified_scheduler::__private::TestSite {
                    crate_name: match ::core::option_env!("CARGO_CRATE_NAME") {
                        ::core::option::Option::Some(name) => name,
                        ::core::option::Option::None => "",
                    },
                    package: match ::core::option_env!("CARGO_PKG_NAME") {
                        ::core::option::Option::Some(name) => name,
                        ::core::option::Option::None => "",
                    },
                    manifest_dir: match ::core::option_env!("CARGO_MANIFEST_DIR") {
                        ::core::option::Option::Some(dir) => dir,
                        ::core::option::Option::None => "",
                    },
                    bin_name: ::core::option_env!("CARGO_BIN_NAME"),
                    integration: ::core::option_env!("CARGO_TARGET_TMPDIR").is_some(),
                    module_path: ::core::module_path!(),
                    name: #name_str,
                    file: ::core::file!(),
                };
            ::unified_scheduler::__private::run_test(&__SITE, #seeds, #config, |__test| #body)
        }
    })
}
