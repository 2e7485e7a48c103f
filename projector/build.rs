//! Rebuilds the crate when a migration is added, changed or removed: `refinery::embed_migrations!`
//! reads `migrations/` at compile time, and Cargo does not otherwise know the directory matters
//! (a new `V<n>__*.sql` would be missing from the binary until something else changed).

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
