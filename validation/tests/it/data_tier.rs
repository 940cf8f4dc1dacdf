//! The data tier's quick table must pass with master seed 1: async
//! replication loses w·L writes at a failover (within the interval), sync
//! and semi-sync lose none, and with reads on replicas the primary carries
//! exactly the writes' work (Little's law at the node).

use validation::{render_data_table, run_data_checks};

#[test]
fn quick_data_tier_table_passes_with_master_seed_1() {
    let rows = run_data_checks(true, 1, &|line| eprintln!("{line}"));
    let table = render_data_table(&rows);
    println!("{table}");
    assert_eq!(rows.len(), 7);
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| !r.pass)
        .map(|r| r.name.as_str())
        .collect();
    assert!(failed.is_empty(), "failed: {failed:?}\n{table}");
}
