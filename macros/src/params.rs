//! The parameters a test may take: each is injected by its type, matched on the last path
//! segment (`Arc<..>` and `std::sync::Arc<..>` alike); anything else is a compile error.

use syn::{FnArg, GenericArgument, PathArguments, Signature, Type, TypeParamBound};

const EXPECTED: &str = "`Arc<TestScheduler>`, `Arc<dyn Scheduler>`, `BackgroundExecutor` or \
                        `ForegroundExecutor`";

/// The types of the parameters, checked; errors for every one that cannot be injected.
pub(crate) fn injected(sig: &Signature) -> syn::Result<Vec<&Type>> {
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            "#[unified_scheduler::test] functions cannot be generic",
        ));
    }
    let mut errors: Option<syn::Error> = None;
    let mut types = Vec::new();
    for input in &sig.inputs {
        let error = match input {
            FnArg::Typed(typed) if injectable(&typed.ty) => {
                types.push(&*typed.ty);
                continue;
            }
            FnArg::Typed(typed) => syn::Error::new_spanned(
                &typed.ty,
                format!(
                    "#[unified_scheduler::test] cannot inject this type; it injects {EXPECTED}"
                ),
            ),
            FnArg::Receiver(receiver) => syn::Error::new_spanned(
                receiver,
                "#[unified_scheduler::test] functions cannot take `self`",
            ),
        };
        match &mut errors {
            Some(errors) => errors.combine(error),
            None => errors = Some(error),
        }
    }
    match errors {
        Some(errors) => Err(errors),
        None => Ok(types),
    }
}

fn injectable(ty: &Type) -> bool {
    match last_segment(ty) {
        Some(("BackgroundExecutor" | "ForegroundExecutor", PathArguments::None)) => true,
        Some(("Arc", PathArguments::AngleBracketed(args))) if args.args.len() == 1 => {
            match &args.args[0] {
                GenericArgument::Type(Type::TraitObject(object)) => {
                    let mut bounds = object.bounds.iter();
                    matches!(
                        (bounds.next(), bounds.next()),
                        (Some(TypeParamBound::Trait(bound)), None)
                            if bound.path.segments.last().is_some_and(|s| s.ident == "Scheduler")
                    )
                }
                GenericArgument::Type(inner) => matches!(
                    last_segment(inner),
                    Some(("TestScheduler", PathArguments::None))
                ),
                _ => false,
            }
        }
        _ => false,
    }
}

/// `(name, arguments)` of the last segment of a path type.
fn last_segment(ty: &Type) -> Option<(&'static str, &PathArguments)> {
    let Type::Path(path) = ty else { return None };
    let segment = path.path.segments.last()?;
    let name = [
        "Arc",
        "TestScheduler",
        "BackgroundExecutor",
        "ForegroundExecutor",
    ]
    .into_iter()
    .find(|name| segment.ident == name)?;
    Some((name, &segment.arguments))
}
