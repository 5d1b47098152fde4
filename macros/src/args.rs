//! The attribute's arguments: `iterations = N`, `seed = N`, `seeds(a, b, ...)`,
//! `check_determinism`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::{LitInt, Token};

#[derive(Default)]
pub(crate) struct Args {
    seed: Option<u64>,
    iterations: Option<u64>,
    seeds: Option<Vec<u64>>,
    check_determinism: bool,
}

impl Args {
    pub(crate) fn parse(&mut self, meta: ParseNestedMeta<'_>) -> syn::Result<()> {
        if meta.path.is_ident("seed") {
            self.seed = Some(meta.value()?.parse::<LitInt>()?.base10_parse()?);
        } else if meta.path.is_ident("iterations") {
            self.iterations = Some(meta.value()?.parse::<LitInt>()?.base10_parse()?);
        } else if meta.path.is_ident("seeds") {
            let content;
            syn::parenthesized!(content in meta.input);
            let list = Punctuated::<LitInt, Token![,]>::parse_terminated(&content)?;
            let seeds = list
                .iter()
                .map(LitInt::base10_parse)
                .collect::<syn::Result<Vec<u64>>>()?;
            if seeds.is_empty() {
                return Err(meta.error("`seeds(..)` needs at least one seed, e.g. `seeds(1, 5)`"));
            }
            self.seeds = Some(seeds);
        } else if meta.path.is_ident("check_determinism") {
            self.check_determinism = true;
        } else {
            return Err(meta.error(
                "unknown argument; expected `iterations = N`, `seed = N`, `seeds(a, b, ...)` \
                 or `check_determinism`",
            ));
        }
        if self.seeds.is_some() && (self.seed.is_some() || self.iterations.is_some()) {
            return Err(meta.error(
                "`seeds(..)` names every seed: it does not combine with `seed` or `iterations`",
            ));
        }
        Ok(())
    }

    /// The `Seeds` value the runner takes.
    pub(crate) fn seeds(&self) -> TokenStream {
        match &self.seeds {
            Some(list) => quote!(::unified_scheduler::__private::Seeds::List(&[#(#list),*])),
            None => {
                let first = self.seed.unwrap_or(0);
                let count = self.iterations.unwrap_or(1);
                quote!(::unified_scheduler::__private::Seeds::Range { first: #first, count: #count })
            }
        }
    }

    /// The `TestSchedulerConfig` of every seed.
    pub(crate) fn config(&self) -> TokenStream {
        let check = self.check_determinism;
        quote!(::unified_scheduler::TestSchedulerConfig::new().check_determinism(#check))
    }
}
