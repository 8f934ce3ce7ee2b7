//! The migrations are embedded (`embed_migrations!`), which sees the files
//! it includes but not a new migration folder: rebuild when any changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
