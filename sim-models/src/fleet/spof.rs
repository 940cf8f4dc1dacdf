//! Static single-point-of-failure analysis of a fleet's topology.
//!
//! The fleet becomes a directed graph (petgraph) from each client
//! population to the serving capacity it needs:
//!
//! ```text
//! population ─► home region ─► balancer ─► zone ─► instance ─► group ─► serving
//!           └─► fallback region ─► …
//! ```
//!
//! A population reaches a region only if the region is its home or in its
//! fallback list, as GeoDNS answers. Every node but the population and the
//! sink is a *component* that can fail: a region (its network), a region's
//! balancer, an availability zone, an instance group (a bad deploy takes all
//! of it), one instance. The GeoDNS provider is one more component, on
//! every population's path in front of all of these; it is kept out of the
//! graph (a node shared by every population would join their paths) and
//! counted directly: it alone cuts every population off.
//! Then, for each population:
//!
//! - **SPOFs**: every component whose removal alone leaves no path to
//!   serving capacity. Instances of one group in one zone are
//!   interchangeable, so one representative per (group, zone) is tried.
//! - **Minimal cut**: the fewest components whose joint failure disconnects
//!   it (max-flow on the graph with each component split into an in and an
//!   out node of capacity 1), and which ones — with and without the DNS
//!   provider, which is on every path.
//!
//! Static means structural: it ignores capacity (N+1 that is not enough
//! once one zone is gone is found by running the scenario with the fault),
//! timelines and the autoscaler (groups count their starting instances).

use std::collections::{BTreeMap, VecDeque};

use petgraph::algo::dinics;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;

use super::config::FleetConfig;
use super::data::config::{ReadPolicy, Topology as DbTopology};

/// What kind of component a graph node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentKind {
    /// The GeoDNS provider.
    Dns,
    /// A whole region (its network).
    Region,
    /// A region's load balancer.
    Balancer,
    /// An availability zone.
    Zone,
    /// An instance group.
    Group,
    /// One instance.
    Instance,
    /// A database shard's primary (active-active: one region's node).
    DatabasePrimary,
    /// One replica of a database shard.
    DatabaseReplica,
    /// A cache's node in one region.
    Cache,
}

impl ComponentKind {
    /// The kind's name in reports (`database_primary`).
    pub fn name(self) -> &'static str {
        match self {
            ComponentKind::Dns => "dns",
            ComponentKind::Region => "region",
            ComponentKind::Balancer => "balancer",
            ComponentKind::Zone => "zone",
            ComponentKind::Group => "group",
            ComponentKind::Instance => "instance",
            ComponentKind::DatabasePrimary => "database_primary",
            ComponentKind::DatabaseReplica => "database_replica",
            ComponentKind::Cache => "cache",
        }
    }
}

/// The name of database `d`'s shard-`s` primary in both analyses (an
/// active-active database's node in region `r` instead).
pub fn database_node_name(config: &FleetConfig, d: usize, s: usize, node: usize) -> String {
    let dc = &config.databases[d];
    let shard = if dc.shard_nodes.len() > 1 {
        format!("[{s}]")
    } else {
        String::new()
    };
    match dc.topology {
        DbTopology::ActiveActive { .. } => format!(
            "db {}{shard}@{}",
            dc.name, config.regions[dc.shard_nodes[s][node]].name
        ),
        DbTopology::PrimaryReplica if node == 0 => format!("db {}{shard} primary", dc.name),
        DbTopology::PrimaryReplica => format!("db {}{shard} replica#{}", dc.name, node - 1),
    }
}

/// A node of the topology graph.
#[derive(Clone, Debug, PartialEq, Eq)]
enum NodeKind {
    /// A client population (a source).
    Population(usize),
    /// The serving capacity every path ends in.
    Serving,
    /// Something that can fail.
    Component(ComponentKind),
}

/// A node: its kind and its name in reports (`us-east/us-east-1a`,
/// `us-east/web#3`).
#[derive(Clone, Debug)]
struct Node {
    kind: NodeKind,
    name: String,
}

/// One component whose failure alone disconnects some populations.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpofFinding {
    /// The component, e.g. `us-east/balancer`.
    pub component: String,
    /// Its kind.
    pub kind: ComponentKind,
    /// The populations it cuts off from all serving capacity.
    pub populations: Vec<String>,
}

/// How well one population is protected.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PopulationCut {
    /// The population.
    pub population: String,
    /// The regions GeoDNS can send it to (home first, then fallbacks).
    pub regions: Vec<String>,
    /// Fewest components whose joint failure disconnects it.
    pub min_cut: u64,
    /// One such set.
    pub min_cut_components: Vec<String>,
    /// The same below DNS (regions, balancers, zones, groups, instances).
    pub min_cut_below_dns: u64,
    /// One such set.
    pub min_cut_below_dns_components: Vec<String>,
}

/// The static analysis of a fleet.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StaticSpofReport {
    /// Components in the graph, by kind.
    pub components: BTreeMap<String, usize>,
    /// Components tried one at a time (instances: one per group and zone).
    pub components_tried: usize,
    /// Single points of failure, most populations cut first.
    pub spofs: Vec<SpofFinding>,
    /// Per population, its minimal cuts.
    pub populations: Vec<PopulationCut>,
    /// What the analysis assumed.
    pub notes: Vec<String>,
}

/// Capacity standing for "cannot be cut".
const INFINITE: u64 = 1 << 40;

/// The topology graph of a fleet.
#[derive(Debug)]
struct Topology {
    graph: DiGraph<Node, ()>,
    populations: Vec<NodeIndex>,
    serving: NodeIndex,
    /// Components to try one at a time.
    candidates: Vec<NodeIndex>,
}

impl Topology {
    fn build(config: &FleetConfig) -> Topology {
        let mut graph = DiGraph::new();
        let add = |graph: &mut DiGraph<Node, ()>, kind: NodeKind, name: String| {
            graph.add_node(Node { kind, name })
        };
        let serving = add(&mut graph, NodeKind::Serving, "serving".into());
        let mut candidates = Vec::new();
        let mut region_nodes = Vec::new();
        for rc in &config.regions {
            let region = add(
                &mut graph,
                NodeKind::Component(ComponentKind::Region),
                rc.name.clone(),
            );
            let balancer = add(
                &mut graph,
                NodeKind::Component(ComponentKind::Balancer),
                format!("{}/balancer", rc.name),
            );
            graph.add_edge(region, balancer, ());
            candidates.extend([region, balancer]);
            let zones: Vec<NodeIndex> = (rc.zones.iter())
                .map(|z| {
                    add(
                        &mut graph,
                        NodeKind::Component(ComponentKind::Zone),
                        format!("{}/{z}", rc.name),
                    )
                })
                .collect();
            let mut zone_used = vec![false; zones.len()];
            for gc in &rc.groups {
                let group = add(
                    &mut graph,
                    NodeKind::Component(ComponentKind::Group),
                    format!("{}/{}", rc.name, gc.name),
                );
                graph.add_edge(group, serving, ());
                candidates.push(group);
                let mut first_in_zone: BTreeMap<usize, (NodeIndex, usize)> = BTreeMap::new();
                for k in 0..gc.instances {
                    let z = gc.starting_zone(k);
                    let inst = add(
                        &mut graph,
                        NodeKind::Component(ComponentKind::Instance),
                        format!("{}/{}#{k}", rc.name, gc.name),
                    );
                    graph.add_edge(zones[z], inst, ());
                    graph.add_edge(inst, group, ());
                    zone_used[z] = true;
                    first_in_zone.entry(z).or_insert((inst, 0)).1 += 1;
                }
                // An instance alone in its (group, zone) may be a SPOF; one
                // with siblings there cannot be.
                candidates.extend(
                    (first_in_zone.values())
                        .filter(|(_, n)| *n == 1)
                        .map(|(inst, _)| *inst),
                );
            }
            for (z, zone) in zones.iter().enumerate() {
                graph.add_edge(balancer, *zone, ());
                if zone_used[z] {
                    candidates.push(*zone);
                }
            }
            region_nodes.push(region);
        }
        let mut populations = Vec::new();
        for (p, pc) in config.populations.iter().enumerate() {
            let pop = add(&mut graph, NodeKind::Population(p), pc.name.clone());
            for r in std::iter::once(pc.home_region).chain(pc.fallback.iter().copied()) {
                graph.add_edge(pop, region_nodes[r], ());
            }
            populations.push(pop);
        }
        Topology {
            graph,
            populations,
            serving,
            candidates,
        }
    }

    /// Whether `from` reaches serving capacity with `removed` failed.
    fn reaches(&self, from: NodeIndex, removed: Option<NodeIndex>) -> bool {
        let mut seen = vec![false; self.graph.node_count()];
        let mut queue = VecDeque::from([from]);
        seen[from.index()] = true;
        while let Some(n) = queue.pop_front() {
            if n == self.serving {
                return true;
            }
            for next in self.graph.neighbors(n) {
                if Some(next) != removed && !seen[next.index()] {
                    seen[next.index()] = true;
                    queue.push_back(next);
                }
            }
        }
        false
    }

    /// The minimal vertex cut between `pop` and serving capacity below DNS:
    /// its size and one set of components achieving it.
    fn min_cut(&self, pop: NodeIndex) -> (u64, Vec<String>) {
        // Split every node v into v_in → v_out; a component's split edge
        // has capacity 1, everything else is uncuttable.
        let n = self.graph.node_count();
        let mut flow_graph: DiGraph<(), u64> = DiGraph::with_capacity(2 * n, 0);
        for _ in 0..2 * n {
            flow_graph.add_node(());
        }
        let (node_in, node_out) = (
            |v: usize| NodeIndex::new(2 * v),
            |v: usize| NodeIndex::new(2 * v + 1),
        );
        let mut split_edges = Vec::with_capacity(n);
        for v in self.graph.node_indices() {
            let cap = match self.graph[v].kind {
                NodeKind::Component(_) => 1,
                _ => INFINITE,
            };
            split_edges.push(flow_graph.add_edge(node_in(v.index()), node_out(v.index()), cap));
        }
        for e in self.graph.edge_references() {
            flow_graph.add_edge(
                node_out(e.source().index()),
                node_in(e.target().index()),
                INFINITE,
            );
        }
        let source = node_out(pop.index());
        let sink = node_in(self.serving.index());
        let (value, flows) = dinics(&flow_graph, source, sink);
        // The source side of the cut: what the residual graph still reaches.
        let mut seen = vec![false; flow_graph.node_count()];
        let mut queue = VecDeque::from([source]);
        seen[source.index()] = true;
        while let Some(x) = queue.pop_front() {
            for e in flow_graph.edges_directed(x, petgraph::Direction::Outgoing) {
                let y = e.target();
                if !seen[y.index()] && flows[e.id().index()] < *e.weight() {
                    seen[y.index()] = true;
                    queue.push_back(y);
                }
            }
            for e in flow_graph.edges_directed(x, petgraph::Direction::Incoming) {
                let y = e.source();
                if !seen[y.index()] && flows[e.id().index()] > 0 {
                    seen[y.index()] = true;
                    queue.push_back(y);
                }
            }
        }
        let mut members: Vec<String> = (self.graph.node_indices())
            .filter(|v| {
                let e = split_edges[v.index()];
                let (a, b) = flow_graph.edge_endpoints(e).expect("split edge exists");
                seen[a.index()] && !seen[b.index()]
            })
            .map(|v| self.graph[v].name.clone())
            .collect();
        members.sort();
        (value.min(INFINITE), members)
    }
}

/// Analyzes `config`'s topology (see the module docs).
pub fn analyze(config: &FleetConfig) -> StaticSpofReport {
    let topo = Topology::build(config);
    let mut components: BTreeMap<String, usize> = BTreeMap::from([("dns".to_string(), 1)]);
    for v in topo.graph.node_indices() {
        if let NodeKind::Component(kind) = topo.graph[v].kind {
            let key = serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            *components.entry(key).or_default() += 1;
        }
    }
    for dc in &config.databases {
        let nodes: usize = dc.node_count();
        let primaries = match dc.topology {
            DbTopology::ActiveActive { .. } => nodes,
            DbTopology::PrimaryReplica => dc.shard_nodes.len(),
        };
        *components.entry("database_primary".into()).or_default() += primaries;
        if nodes > primaries {
            *components.entry("database_replica".into()).or_default() += nodes - primaries;
        }
    }
    // GeoDNS answers every population's first lookup: it cuts off every
    // population that could be served at all.
    let served: Vec<String> = (topo.populations.iter().enumerate())
        .filter(|&(_, &pop)| topo.reaches(pop, None))
        .map(|(p, _)| config.populations[p].name.clone())
        .collect();
    let mut spofs: Vec<SpofFinding> = Vec::new();
    if !served.is_empty() {
        spofs.push(SpofFinding {
            component: "geodns".into(),
            kind: ComponentKind::Dns,
            populations: served,
        });
    }
    for &c in &topo.candidates {
        let cut: Vec<String> = (topo.populations.iter().enumerate())
            .filter(|&(_, &pop)| topo.reaches(pop, None) && !topo.reaches(pop, Some(c)))
            .map(|(p, _)| config.populations[p].name.clone())
            .collect();
        if !cut.is_empty() {
            let NodeKind::Component(kind) = topo.graph[c].kind else {
                unreachable!("candidates are components")
            };
            spofs.push(SpofFinding {
                component: topo.graph[c].name.clone(),
                kind,
                populations: cut,
            });
        }
    }
    // The data tier, by rule rather than by graph: a shard's primary that
    // nothing replaces (no failover or no replica to promote; an
    // active-active database with a single region) cuts off the
    // populations whose classes need it — writers always, readers when
    // reads go to the primary or there is no replica. Replicas and caches
    // never do alone: reads fall back to the primary or the database.
    for (d, dc) in config.databases.iter().enumerate() {
        for s in 0..dc.shard_nodes.len() {
            let nodes = dc.shard_nodes[s].len();
            let replaceable = match dc.topology {
                DbTopology::ActiveActive { .. } => nodes > 1,
                DbTopology::PrimaryReplica => dc.failover.is_some() && nodes > 1,
            };
            if replaceable {
                continue;
            }
            let needs = |class: &super::config::ClassConfig| {
                class.data.is_some_and(|x| x.database == d)
                    && (class.kind == super::config::AccessKind::Write
                        || nodes == 1
                        || dc.reads == ReadPolicy::Primary)
            };
            let cut: Vec<String> = (topo.populations.iter().enumerate())
                .filter(|&(p, &pop)| {
                    topo.reaches(pop, None) && config.populations[p].classes.iter().any(needs)
                })
                .map(|(p, _)| config.populations[p].name.clone())
                .collect();
            if !cut.is_empty() {
                spofs.push(SpofFinding {
                    component: database_node_name(config, d, s, 0),
                    kind: ComponentKind::DatabasePrimary,
                    populations: cut,
                });
            }
        }
    }
    spofs.sort_by(|a, b| {
        (b.populations.len().cmp(&a.populations.len()))
            .then(a.kind.cmp(&b.kind))
            .then(a.component.cmp(&b.component))
    });
    let populations = (topo.populations.iter().enumerate())
        .map(|(p, &pop)| {
            let pc = &config.populations[p];
            let (below, below_components) = topo.min_cut(pop);
            // With DNS in front of everything, one failure suffices unless
            // the population cannot be served at all (a cut of 0).
            let (min_cut, min_cut_components) = if below == 0 {
                (0, Vec::new())
            } else {
                (1, vec!["geodns".to_string()])
            };
            PopulationCut {
                population: pc.name.clone(),
                regions: std::iter::once(pc.home_region)
                    .chain(pc.fallback.iter().copied())
                    .map(|r| config.regions[r].name.clone())
                    .collect(),
                min_cut,
                min_cut_components,
                min_cut_below_dns: below,
                min_cut_below_dns_components: below_components,
            }
        })
        .collect();
    let mut notes = vec![
        "structural only: capacity is ignored (N+1 that is not enough once a zone fails shows only when the fault is simulated)".to_string(),
        "clients keep cached DNS answers for the TTL, so a DNS outage cuts populations off only as their answers expire".to_string(),
    ];
    if !config.databases.is_empty() {
        notes.push(
            "the data tier is checked by rule: a shard primary that no failover replaces is a SPOF for the populations whose classes need it (it cuts off those classes' requests, not the population's others); replicas and caches never are alone".into(),
        );
    }
    if (config.regions.iter()).any(|r| r.groups.iter().any(|g| g.autoscaling.is_some())) {
        notes.push(
            "autoscaled groups count their starting instances; the autoscaler may add more (in the zones with the fewest)".into(),
        );
    }
    StaticSpofReport {
        components,
        components_tried: topo.candidates.len(),
        spofs,
        populations,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Format, load_fleet_scenario};

    /// A group: name, instances, zones.
    type Group<'a> = (&'a str, u32, &'a [&'a str]);
    /// A region: name, zones, groups.
    type Region<'a> = (&'a str, &'a [&'a str], &'a [Group<'a>]);

    /// A fleet with `regions` and populations as (name, home, fallbacks).
    fn fleet(regions: &[Region<'_>], populations: &[(&str, &str, &[&str])]) -> FleetConfig {
        let mut text = String::from(
            "[run]\nduration = \"1min\"\n[[instance_types]]\nname = \"t\"\nworkers = 1\nhourly_price = 0.1\n",
        );
        for (name, zones, groups) in regions {
            text += &format!("[[regions]]\nname = \"{name}\"\nzones = {zones:?}\n");
            for (g, n, gz) in *groups {
                text += &format!(
                    "[[regions.groups]]\nname = \"{g}\"\ninstance_type = \"t\"\ninstances = {n}\nzones = {gz:?}\n"
                );
            }
        }
        for (i, (a, _, _)) in regions.iter().enumerate() {
            for (b, _, _) in &regions[i + 1..] {
                text += &format!("[[latency]]\nbetween = [\"{a}\", \"{b}\"]\none_way = \"30ms\"\n");
            }
        }
        for (name, home, fallback) in populations {
            text += &format!(
                "[[populations]]\nname = \"{name}\"\nregion = \"{home}\"\nfallback = {fallback:?}\nrate = {{ profile = \"constant\", per_second = 1 }}\n[[populations.classes]]\nname = \"c\"\nshare = 1.0\ndemand = {{ type = \"constant\", value = \"10ms\" }}\n"
            );
        }
        load_fleet_scenario(&text, Format::Toml, &[], &|_| Err("no files".into()))
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .config
    }

    /// One region, one population whose only class `kind`s through
    /// database `db` (given as its TOML table body).
    fn with_database(kind: &str, db: &str) -> FleetConfig {
        let text = format!(
            "[run]\nduration = \"1min\"\n[[instance_types]]\nname = \"t\"\nworkers = 1\nhourly_price = 0.1\n\
             [[regions]]\nname = \"east\"\nzones = [\"a\"]\n[[regions.groups]]\nname = \"web\"\ninstance_type = \"t\"\ninstances = 2\n\
             [[regions]]\nname = \"west\"\nzones = [\"a\"]\n[[regions.groups]]\nname = \"web\"\ninstance_type = \"t\"\ninstances = 2\n\
             [[latency]]\nbetween = [\"east\", \"west\"]\none_way = \"30ms\"\n\
             [[populations]]\nname = \"users\"\nregion = \"east\"\nfallback = [\"west\"]\nrate = {{ profile = \"constant\", per_second = 1 }}\n\
             [[populations.classes]]\nname = \"c\"\nkind = \"{kind}\"\ndemand = {{ type = \"constant\", value = \"10ms\" }}\ndatabase = \"db\"\n\
             [[databases]]\nname = \"db\"\n{db}\n"
        );
        load_fleet_scenario(&text, Format::Toml, &[], &|_| Err("no files".into()))
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .config
    }

    #[test]
    fn a_primary_nothing_replaces_is_a_spof_for_the_classes_that_need_it() {
        // No replica, or no failover: writers are cut off.
        for db in [
            "primary = \"east\"",
            "primary = \"east\"\nreplicas = [\"west\"]",
        ] {
            let r = analyze(&with_database("write", db));
            assert!(
                spof_names(&r).contains(&"db db primary"),
                "{db}: {:?}",
                spof_names(&r)
            );
        }
        // Readers on replicas survive a dead primary without failover...
        let r = analyze(&with_database(
            "read",
            "primary = \"east\"\nreplicas = [\"west\"]\nreads = \"replicas\"",
        ));
        assert!(!spof_names(&r).contains(&"db db primary"));
        // ...and failover with a replica to promote removes the SPOF, as
        // does an active-active database in two regions.
        for db in [
            "primary = \"east\"\nreplicas = [\"west\"]\nfailover = {}",
            "topology = \"active_active\"\nregions = [\"east\", \"west\"]",
        ] {
            let r = analyze(&with_database("write", db));
            assert!(
                !spof_names(&r).iter().any(|n| n.starts_with("db ")),
                "{db}: {:?}",
                spof_names(&r)
            );
        }
        let r = analyze(&with_database(
            "write",
            "topology = \"active_active\"\nregions = [\"east\"]",
        ));
        assert!(
            spof_names(&r).contains(&"db db@east"),
            "{:?}",
            spof_names(&r)
        );
    }

    fn spof_names(r: &StaticSpofReport) -> Vec<&str> {
        r.spofs.iter().map(|s| s.component.as_str()).collect()
    }

    #[test]
    fn one_region_is_cut_by_its_region_balancer_group_and_dns() {
        let config = fleet(
            &[("east", &["a", "b", "c"], &[("web", 6, &["a", "b", "c"])])],
            &[("users", "east", &[])],
        );
        let r = analyze(&config);
        assert_eq!(
            spof_names(&r),
            ["geodns", "east", "east/balancer", "east/web"],
            "zones and instances are redundant"
        );
        let p = &r.populations[0];
        assert_eq!((p.min_cut, p.min_cut_below_dns), (1, 1));
        assert_eq!(p.min_cut_components, ["geodns"]);
        assert_eq!(r.components["instance"], 6);
    }

    #[test]
    fn a_lone_instance_and_a_single_zone_are_found() {
        let config = fleet(
            &[(
                "east",
                &["a", "b"],
                &[("web", 2, &["a"]), ("batch", 1, &["b"])],
            )],
            &[("users", "east", &[])],
        );
        let r = analyze(&config);
        // Two groups serve: neither group nor zone alone cuts, but each
        // group's capacity sits in one zone, and `batch` has one instance.
        assert!(!spof_names(&r).contains(&"east/a"));
        assert!(!spof_names(&r).contains(&"east/batch#0"));
        assert_eq!(r.populations[0].min_cut_below_dns, 1, "region or balancer");
        let lone = fleet(
            &[("east", &["a", "b"], &[("web", 1, &["a"])])],
            &[("users", "east", &[])],
        );
        let r = analyze(&lone);
        for c in ["east/a", "east/web", "east/web#0"] {
            assert!(
                spof_names(&r).contains(&c),
                "{c} missing: {:?}",
                spof_names(&r)
            );
        }
        assert!(
            !spof_names(&r).contains(&"east/b"),
            "an empty zone carries nothing"
        );
    }

    #[test]
    fn fallback_regions_remove_regional_spofs_but_not_dns() {
        let regions: &[Region<'_>] = &[
            ("east", &["e1", "e2"], &[("api", 4, &["e1", "e2"])]),
            ("west", &["w1", "w2"], &[("api", 4, &["w1", "w2"])]),
        ];
        let config = fleet(
            regions,
            &[("na", "east", &["west"]), ("local", "west", &[])],
        );
        let r = analyze(&config);
        let find = |c: &str| {
            r.spofs
                .iter()
                .find(|s| s.component == c)
                .map(|s| s.populations.clone())
        };
        assert_eq!(
            find("geodns"),
            Some(vec!["na".to_string(), "local".to_string()])
        );
        assert_eq!(find("east"), None, "na falls back to west");
        assert_eq!(find("west"), Some(vec!["local".to_string()]));
        assert_eq!(find("west/balancer"), Some(vec!["local".to_string()]));
        let na = &r.populations[0];
        assert_eq!(na.regions, ["east", "west"]);
        assert_eq!(na.min_cut, 1);
        assert_eq!(na.min_cut_below_dns, 2, "one component in each region");
        assert_eq!(na.min_cut_below_dns_components.len(), 2);
        let local = &r.populations[1];
        assert_eq!(local.min_cut_below_dns, 1);
    }
}
