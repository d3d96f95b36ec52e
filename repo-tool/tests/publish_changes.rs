//! `publish` in proportion to what changed: a tree published before gets only the
//! targets added or changed since, and ends up as a full publish would leave it; a gap
//! in the change records, a file changed by hand, expired metadata or `--full` send it
//! back to the full check.

mod common;

use common::{Tool, client_download, tree};

fn anchor(tool: &Tool) -> Vec<u8> {
    std::fs::read(tool.path("repo/metadata/roots/1.root.json")).unwrap()
}

/// `published M metadata and N target file(s)`: N.
fn placed(output: &str) -> usize {
    let words: Vec<&str> = output.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "target").expect("a publish line");
    words[at - 1].parse().unwrap()
}

/// Whether the publish checked only what changed, and how many targets.
fn checked(output: &str) -> (bool, usize) {
    let (count, rest) = output.split_once(" (").unwrap().1.split_once(" target(s) checked: ").expect("a publish line");
    (rest.starts_with("those changed"), count.parse().unwrap())
}

/// Publishes the repository in full into a fresh `full/` (`targets` placed) and checks
/// that `out/` holds every file of it, byte for byte; both trees.
fn as_a_full_publish(tool: &Tool, targets: usize) -> (Tree, Tree) {
    assert_eq!(placed(&tool.ok(&["publish", "repo", "full", "--full"])), targets);
    let (incremental, full) = (tree(&tool.path("out")), tree(&tool.path("full")));
    for (path, bytes) in &full {
        assert_eq!(incremental.get(path), Some(bytes), "{} as a full publish writes it", path.display());
    }
    (incremental, full)
}

type Tree = std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>;

/// A repository of three targets, published once in full.
fn published_once() -> Tool {
    let tool = Tool::new();
    tool.ok(&["init", "repo"]);
    for name in ["a.bin", "b.bin", "c.bin"] {
        tool.write(&format!("src/{name}"), format!("first {name}").as_bytes());
    }
    tool.ok(&["targets", "add", "repo", "src"]);
    assert_eq!(placed(&tool.ok(&["publish", "repo", "out"])), 3);
    tool
}

#[test]
fn a_publish_after_changes_places_only_those_targets_and_leaves_what_a_full_publish_would() {
    let tool = published_once();
    tool.write("d.bin", b"new target d");
    tool.ok(&["targets", "add", "repo", "d.bin"]);
    tool.write("b2.bin", b"second content of b");
    tool.ok(&["targets", "add", "repo", "b2.bin", "--path", "b.bin", "--replace"]);
    tool.ok(&["targets", "remove", "repo", "c.bin"]);
    tool.write("e.bin", b"new target e");
    tool.ok(&["targets", "add", "repo", "e.bin", "--path", "dir/e.bin"]);

    let before = tree(&tool.path("out"));
    let changed = tool.ok(&["publish", "repo", "out"]);
    assert_eq!((placed(&changed), checked(&changed)), (3, (true, 3)), "d, the new b and dir/e: {changed}");
    let again = tool.ok(&["publish", "repo", "out"]);
    assert_eq!((placed(&again), checked(&again)), (0, (true, 0)), "nothing changed since: {again}");

    let (incremental, full) = as_a_full_publish(&tool, 4);
    for path in incremental.keys().filter(|p| !full.contains_key(*p)) {
        assert!(before.contains_key(path), "{}: only files of older versions are extra", path.display());
    }
    for (target, content) in
        [("b.bin", &b"second content of b"[..]), ("d.bin", b"new target d"), ("dir/e.bin", b"new target e")]
    {
        assert_eq!(client_download(&tool.path("out"), &anchor(&tool), target).unwrap(), content);
    }
    let verified = tool.ok(&["verify", "out", "--root", "repo/metadata/roots/1.root.json"]);
    assert!(verified.contains("OK: root v1, 1 targets role(s), 4 target(s) with verified content"), "{verified}");
}

#[test]
fn a_gap_in_the_change_records_falls_back_to_checking_every_target() {
    let tool = published_once();
    tool.write("d.bin", b"new target d");
    tool.ok(&["targets", "add", "repo", "d.bin"]);
    for entry in std::fs::read_dir(tool.path("repo/changes")).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    std::fs::remove_dir_all(tool.path("out/targets")).unwrap();
    let full = tool.ok(&["publish", "repo", "out"]);
    assert_eq!((placed(&full), checked(&full)), (4, (false, 4)), "every target checked and put back: {full}");
    assert_eq!(client_download(&tool.path("out"), &anchor(&tool), "a.bin").unwrap(), b"first a.bin");
}

#[test]
fn full_puts_back_a_target_deleted_from_the_published_tree() {
    let tool = published_once();
    let gone: Vec<_> = std::fs::read_dir(tool.path("out/targets")).unwrap().map(|e| e.unwrap().path()).collect();
    std::fs::remove_file(&gone[0]).unwrap();
    assert_eq!(placed(&tool.ok(&["publish", "repo", "out"])), 0, "the tree says it holds every target");
    let full = tool.ok(&["publish", "repo", "out", "--full"]);
    assert_eq!((placed(&full), checked(&full)), (1, (false, 3)), "{full}");
    assert!(gone[0].exists());
}

#[test]
fn a_metadata_file_changed_by_hand_is_refused_not_published() {
    let tool = published_once();
    tool.write("d.bin", b"new target d");
    tool.ok(&["targets", "add", "repo", "d.bin"]);
    let path = tool.path("repo/metadata/targets.json");
    let text = std::fs::read_to_string(&path).unwrap().replace("\"length\": 11", "\"length\": 12");
    std::fs::write(&path, text).unwrap();
    let before = tree(&tool.path("out"));
    let stderr = tool.fails(&["publish", "repo", "out"]);
    assert!(stderr.contains("was changed outside repo-tool"), "{stderr}");
    assert_eq!(tree(&tool.path("out")), before, "nothing published");
}

#[test]
fn expired_metadata_is_refused_not_published_from_the_records() {
    let tool = Tool::new();
    tool.ok(&["init", "repo", "--expires", "timestamp=2s"]);
    tool.write("a.bin", b"a");
    tool.ok(&["targets", "add", "repo", "a.bin"]);
    tool.ok(&["publish", "repo", "out"]);
    tool.write("b.bin", b"b");
    tool.ok(&["targets", "add", "repo", "b.bin"]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let before = tree(&tool.path("out"));
    let stderr = tool.fails(&["publish", "repo", "out"]);
    assert!(stderr.contains("timestamp") && stderr.contains("expired"), "{stderr}");
    assert_eq!(tree(&tool.path("out")), before, "nothing published");
}

#[test]
fn hash_bins_publish_only_the_bins_changed_and_match_a_full_publish() {
    let tool = Tool::new();
    tool.ok(&["init", "repo"]);
    tool.ok(&["key", "generate", "--out", "bins.pem"]);
    tool.ok(&["bins", "repo", "8", "--succinct", "--key", "bins.pem"]);
    for i in 0..12 {
        tool.write(&format!("src/f{i}.txt"), format!("file {i}").as_bytes());
    }
    tool.ok(&["targets", "add", "repo", "src", "--key", "bins.pem"]);
    assert_eq!(placed(&tool.ok(&["publish", "repo", "out"])), 12);
    tool.write("late.txt", b"one more, in one bin");
    tool.ok(&["targets", "add", "repo", "late.txt", "--key", "bins.pem"]);
    let changed = tool.ok(&["publish", "repo", "out"]);
    assert_eq!((placed(&changed), checked(&changed)), (1, (true, 1)), "one bin's one target: {changed}");
    as_a_full_publish(&tool, 13);
    assert_eq!(client_download(&tool.path("out"), &anchor(&tool), "late.txt").unwrap(), b"one more, in one bin");
}
