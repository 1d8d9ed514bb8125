//! `parse_script` on arbitrary text: it must return, never panic, and any
//! graph it returns must be consistent (acyclic, deps inside the graph).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(graph) = godrv_script::parse_script(text, Path::new("/start")) {
        let order = graph.topological_order();
        assert_eq!(order.len(), graph.actions.len());
        for action in graph.actions.values() {
            assert!(action.deps.iter().all(|d| graph.actions.contains_key(d)));
            assert!(!action.deps.contains(&action.id));
        }
        // The JSON form must serialize and read back identically.
        let json = serde_json::to_string(&graph).unwrap();
        let back: godrv_script::ActionGraph = serde_json::from_str(&json).unwrap();
        assert_eq!(back, graph);
    }
});
