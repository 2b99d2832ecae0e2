//! The examples the tests and the OpenAPI document use are the API document's, verbatim.

use std::path::PathBuf;

#[test]
fn the_repository_copies_of_the_examples_match_the_shared_ones() {
    let ours = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/examples");
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/spec/examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&ours).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        let theirs = shared.join(name);
        if theirs.exists() {
            assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&theirs).unwrap(), "{}", path.display());
            checked += 1;
        }
    }
    if shared.exists() {
        assert_eq!(checked, 48, "every example has its three files");
    }
}
