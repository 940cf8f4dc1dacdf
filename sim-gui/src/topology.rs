//! The fleet drawn as a graph, left to right as a request travels:
//! populations → GeoDNS → regions → balancers → zones → groups → databases
//! and caches. Components that the static SPOF analysis
//! ([`sim_models::static_spof`]) finds are drawn in red. Clicking a node
//! selects it; [`details`] shows its configuration and, after a run, its
//! figures from the report.

use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, StrokeKind, Ui, Vec2, pos2, vec2};
use sim_models::FleetReport;
use sim_models::fleet::FleetConfig;
use sim_models::fleet::spof::StaticSpofReport;

/// One drawable component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A client population.
    Population(usize),
    /// The GeoDNS provider.
    Dns,
    /// A region.
    Region(usize),
    /// A region's balancer.
    Balancer(usize),
    /// A zone of a region.
    Zone(usize, usize),
    /// A group of a region.
    Group(usize, usize),
    /// A database.
    Database(usize),
    /// A cache.
    Cache(usize),
}

impl Node {
    /// The label drawn in the box.
    pub fn label(&self, c: &FleetConfig) -> String {
        match *self {
            Node::Population(p) => c.populations[p].name.clone(),
            Node::Dns => "geodns".to_string(),
            Node::Region(r) => c.regions[r].name.clone(),
            Node::Balancer(r) => format!("{} balancer", c.regions[r].name),
            Node::Zone(r, z) => c.regions[r].zones[z].clone(),
            Node::Group(r, g) => format!("{}/{}", c.regions[r].name, c.regions[r].groups[g].name),
            Node::Database(d) => format!("db {}", c.databases[d].name),
            Node::Cache(k) => format!("cache {}", c.caches[k].name),
        }
    }

    /// The SPOF findings about this node (component names as the analysis
    /// prints them; a group also owns its instances' findings).
    pub fn spofs<'a>(
        &self,
        c: &FleetConfig,
        spof: &'a StaticSpofReport,
    ) -> Vec<&'a sim_models::fleet::spof::SpofFinding> {
        let matches = |component: &str| -> bool {
            match *self {
                Node::Population(_) => false,
                Node::Dns => component == "geodns",
                Node::Region(r) => component == c.regions[r].name,
                Node::Balancer(r) => component == format!("{}/balancer", c.regions[r].name),
                Node::Zone(r, z) => {
                    component == format!("{}/{}", c.regions[r].name, c.regions[r].zones[z])
                }
                Node::Group(r, g) => {
                    let name = format!("{}/{}", c.regions[r].name, c.regions[r].groups[g].name);
                    component == name
                        || component
                            .strip_prefix(&name)
                            .is_some_and(|rest| rest.starts_with('#'))
                }
                Node::Database(d) => component
                    .strip_prefix(&format!("db {}", c.databases[d].name))
                    .is_some_and(|rest| rest.starts_with([' ', '[', '@'])),
                Node::Cache(k) => component
                    .strip_prefix(&format!("cache {}", c.caches[k].name))
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '@', '/'])),
            }
        };
        spof.spofs
            .iter()
            .filter(|s| matches(&s.component))
            .collect()
    }
}

/// Every node of a config's graph, in drawing order.
pub fn nodes(c: &FleetConfig) -> Vec<Node> {
    layout(c).into_iter().map(|(n, _, _)| n).collect()
}

/// The node's box centres, by column, for a config.
fn layout(c: &FleetConfig) -> Vec<(Node, usize, f32)> {
    // (node, column, row) with rows in units of one box slot.
    let mut out = Vec::new();
    for p in 0..c.populations.len() {
        out.push((Node::Population(p), 0, p as f32));
    }
    let mut row = 0.0;
    let mut region_rows = Vec::new();
    for (r, rc) in c.regions.iter().enumerate() {
        let slots = rc.zones.len().max(rc.groups.len()).max(1) as f32;
        let mid = row + (slots - 1.0) / 2.0;
        region_rows.push(mid);
        out.push((Node::Region(r), 2, mid));
        out.push((Node::Balancer(r), 3, mid));
        let zoff = (slots - rc.zones.len() as f32) / 2.0;
        for z in 0..rc.zones.len() {
            out.push((Node::Zone(r, z), 4, row + zoff + z as f32));
        }
        let goff = (slots - rc.groups.len() as f32) / 2.0;
        for g in 0..rc.groups.len() {
            out.push((Node::Group(r, g), 5, row + goff + g as f32));
        }
        row += slots + 0.5;
    }
    let total = row.max(c.populations.len() as f32);
    out.push((Node::Dns, 1, (total - 1.5) / 2.0));
    let data_n = c.databases.len() + c.caches.len();
    let doff = (total - data_n as f32) / 2.0;
    for d in 0..c.databases.len() {
        out.push((Node::Database(d), 6, doff + d as f32));
    }
    for k in 0..c.caches.len() {
        out.push((Node::Cache(k), 6, doff + (c.databases.len() + k) as f32));
    }
    out
}

/// The edges between nodes (by their positions in `layout`).
fn edges(c: &FleetConfig, nodes: &[(Node, usize, f32)]) -> Vec<(usize, usize)> {
    let find = |n: &Node| nodes.iter().position(|(m, _, _)| m == n);
    let mut out = Vec::new();
    let mut add = |a: Node, b: Node| {
        if let (Some(x), Some(y)) = (find(&a), find(&b)) {
            out.push((x, y));
        }
    };
    for p in 0..c.populations.len() {
        add(Node::Population(p), Node::Dns);
    }
    for (r, rc) in c.regions.iter().enumerate() {
        add(Node::Dns, Node::Region(r));
        add(Node::Region(r), Node::Balancer(r));
        for z in 0..rc.zones.len() {
            add(Node::Balancer(r), Node::Zone(r, z));
        }
        for (g, gc) in rc.groups.iter().enumerate() {
            for &z in &gc.zones {
                add(Node::Zone(r, z), Node::Group(r, g));
            }
        }
    }
    // Groups to the data tier their region's traffic uses: a database with
    // a node in the region, a cache some class of a population homed there
    // reads through.
    for (d, dc) in c.databases.iter().enumerate() {
        for r in 0..c.regions.len() {
            if dc.shard_nodes.iter().flatten().any(|&n| n == r) {
                for g in 0..c.regions[r].groups.len() {
                    add(Node::Group(r, g), Node::Database(d));
                }
            }
        }
    }
    for k in 0..c.caches.len() {
        for pc in &c.populations {
            let uses = pc
                .classes
                .iter()
                .any(|cl| cl.data.is_some_and(|x| x.cache == Some(k)));
            if uses {
                for r in std::iter::once(pc.home_region).chain(pc.fallback.iter().copied()) {
                    for g in 0..c.regions[r].groups.len() {
                        add(Node::Group(r, g), Node::Cache(k));
                    }
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

const SPOF: Color32 = Color32::from_rgb(220, 50, 47);

/// Draws the graph; a click selects a node.
pub fn show(ui: &mut Ui, c: &FleetConfig, spof: &StaticSpofReport, selected: &mut Option<Node>) {
    let nodes = layout(c);
    let rows = nodes.iter().map(|(_, _, r)| *r).fold(0.0f32, f32::max) + 1.0;
    let width = ui.available_width().max(700.0);
    let col_w = width / 7.0;
    let row_h = 34.0;
    let (rect, _) = ui.allocate_exact_size(vec2(width, rows * row_h + 10.0), Sense::hover());
    let center = |col: usize, row: f32| -> Pos2 {
        pos2(
            rect.left() + col_w * (col as f32 + 0.5),
            rect.top() + 5.0 + row_h * (row + 0.5),
        )
    };
    let box_size = vec2(col_w - 14.0, row_h - 8.0);
    let visuals = ui.visuals().clone();
    let painter = ui.painter_at(rect);
    for (a, b) in edges(c, &nodes) {
        let (pa, pb) = (
            center(nodes[a].1, nodes[a].2),
            center(nodes[b].1, nodes[b].2),
        );
        painter.line_segment(
            [
                pa + vec2(box_size.x / 2.0, 0.0),
                pb - vec2(box_size.x / 2.0, 0.0),
            ],
            Stroke::new(1.0, visuals.weak_text_color()),
        );
    }
    for (node, col, row) in &nodes {
        let label = node.label(c);
        let r = Rect::from_center_size(center(*col, *row), box_size);
        let id = ui.make_persistent_id(("topology-node", format!("{node:?}")));
        let response = ui.interact(r, id, Sense::click());
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
        if response.clicked() {
            *selected = Some(node.clone());
        }
        let is_spof = !node.spofs(c, spof).is_empty();
        let is_selected = selected.as_ref() == Some(node);
        let fill = if is_spof {
            Color32::from_rgba_unmultiplied(220, 50, 47, 60)
        } else if response.hovered() {
            visuals.widgets.hovered.bg_fill
        } else {
            visuals.widgets.inactive.bg_fill
        };
        let stroke = match (is_selected, is_spof) {
            (true, _) => Stroke::new(2.5, visuals.selection.stroke.color),
            (false, true) => Stroke::new(1.5, SPOF),
            (false, false) => Stroke::new(1.0, visuals.widgets.inactive.bg_stroke.color),
        };
        painter.rect(r, 4.0, fill, stroke, StrokeKind::Inside);
        let galley = painter.layout(
            label,
            FontId::proportional(12.0),
            visuals.text_color(),
            box_size.x - 6.0,
        );
        let size: Vec2 = galley.size();
        painter.galley(
            Align2::CENTER_CENTER.align_size_within_rect(size, r).min,
            galley,
            visuals.text_color(),
        );
    }
    ui.horizontal(|ui| {
        ui.colored_label(SPOF, "Red:");
        ui.label(format!(
            "single point of failure (static analysis: {} found, {} components tried)",
            spof.spofs.len(),
            spof.components_tried
        ));
    });
}

/// What is known about the selected node: its configuration, the SPOF
/// findings about it and, after a run, its figures from the report.
pub fn details(
    ui: &mut Ui,
    c: &FleetConfig,
    spof: &StaticSpofReport,
    report: Option<&FleetReport>,
    node: &Node,
) {
    ui.heading(node.label(c));
    for f in node.spofs(c, spof) {
        ui.colored_label(
            SPOF,
            format!(
                "SPOF `{}`: cuts off {}",
                f.component,
                f.populations.join(", ")
            ),
        );
    }
    let grid = |ui: &mut Ui, rows: Vec<(String, String)>| {
        egui::Grid::new("node-details")
            .striped(true)
            .num_columns(2)
            .show(ui, |ui| {
                for (k, v) in rows {
                    ui.label(k);
                    ui.label(v);
                    ui.end_row();
                }
            });
    };
    let pct = |x: f64| format!("{:.3} %", x * 100.0);
    let ms = |s: Option<f64>| s.map_or("—".to_string(), |s| format!("{:.1} ms", s * 1000.0));
    let mut rows: Vec<(String, String)> = Vec::new();
    match *node {
        Node::Population(p) => {
            let pc = &c.populations[p];
            rows.push(("home region".into(), c.regions[pc.home_region].name.clone()));
            let fallback: Vec<&str> = pc
                .fallback
                .iter()
                .map(|&r| c.regions[r].name.as_str())
                .collect();
            rows.push(("fallback".into(), fallback.join(", ")));
            if let Some(pr) = report.and_then(|rep| rep.populations.get(p)) {
                rows.push(("requests".into(), pr.scope.requests.to_string()));
                rows.push(("availability".into(), pct(pr.scope.availability)));
                rows.push(("p50".into(), ms(pr.scope.latency.p50_s)));
                rows.push(("p99".into(), ms(pr.scope.latency.p99_s)));
                rows.push(("within SLO".into(), pct(pr.scope.slo_attainment)));
                rows.push(("retries".into(), pr.retries.to_string()));
                rows.push(("hedges".into(), pr.hedges.to_string()));
                rows.push(("breaker opens".into(), pr.breaker_opens.to_string()));
            }
        }
        Node::Dns => {
            rows.push(("TTL".into(), format!("{:.0} s", c.dns.ttl.as_secs_f64())));
            if let Some(rep) = report {
                for r in &rep.regions {
                    rows.push((
                        format!("{} unhealthy", r.name),
                        format!("{:.0} s", r.dns_unhealthy_s),
                    ));
                }
            }
        }
        Node::Region(r) | Node::Balancer(r) => {
            let rc = &c.regions[r];
            rows.push(("zones".into(), rc.zones.join(", ")));
            if let Some(rr) = report.and_then(|rep| rep.regions.get(r)) {
                rows.push(("balancer".into(), rr.balancer.clone()));
                rows.push(("requests".into(), rr.scope.requests.to_string()));
                rows.push((
                    "throughput".into(),
                    format!("{:.1} /s", rr.scope.throughput_per_s),
                ));
                rows.push(("availability".into(), pct(rr.scope.availability)));
                rows.push(("p50".into(), ms(rr.scope.latency.p50_s)));
                rows.push(("p99".into(), ms(rr.scope.latency.p99_s)));
                rows.push(("outlier ejections".into(), rr.ejections.to_string()));
                rows.push(("instance-hours".into(), format!("{:.2}", rr.instance_hours)));
                rows.push(("cost".into(), format!("{:.2}", rr.cost)));
            }
        }
        Node::Zone(r, z) => {
            let groups: Vec<&str> = (c.regions[r].groups.iter())
                .filter(|g| g.zones.contains(&z))
                .map(|g| g.name.as_str())
                .collect();
            rows.push(("groups".into(), groups.join(", ")));
        }
        Node::Group(r, g) => {
            let gc = &c.regions[r].groups[g];
            rows.push((
                "instance type".into(),
                c.instance_types[gc.instance_type].name.clone(),
            ));
            rows.push(("starting instances".into(), gc.instances.to_string()));
            if let Some(gr) = report
                .and_then(|rep| rep.regions.get(r))
                .and_then(|rr| rr.groups.get(g))
            {
                rows.push(("mean instances".into(), format!("{:.1}", gr.mean_instances)));
                rows.push(("peak instances".into(), gr.peak_instances.to_string()));
                rows.push((
                    "utilisation".into(),
                    format!("{:.1} %", gr.utilization * 100.0),
                ));
                rows.push(("mean queue".into(), format!("{:.2}", gr.mean_queue_length)));
                rows.push(("served".into(), gr.served.to_string()));
                rows.push(("rejected".into(), gr.rejected.to_string()));
                rows.push(("instance-hours".into(), format!("{:.2}", gr.instance_hours)));
                rows.push(("cost".into(), format!("{:.2}", gr.cost)));
                if let Some(a) = &gr.autoscaling {
                    rows.push(("policies".into(), a.policies.join(", ")));
                    rows.push(("scale actions".into(), a.scale_actions.to_string()));
                    rows.push((
                        "launches / terminations".into(),
                        format!("{} / {}", a.launches, a.terminations),
                    ));
                    rows.push(("final desired".into(), a.final_desired.to_string()));
                }
            }
        }
        Node::Database(d) => {
            let dc = &c.databases[d];
            rows.push(("shards".into(), dc.shard_nodes.len().to_string()));
            rows.push(("replication".into(), dc.replication.name().to_string()));
            let db = report
                .and_then(|rep| rep.data.as_ref())
                .and_then(|data| data.databases.get(d));
            if let Some(db) = db {
                rows.push(("topology".into(), db.topology.clone()));
                rows.push((
                    "reads / writes".into(),
                    format!("{} / {}", db.reads, db.writes),
                ));
                rows.push(("failed queries".into(), db.failed_queries.to_string()));
                rows.push((
                    "stale reads".into(),
                    format!("{} ({})", db.stale_reads, pct(db.stale_read_ratio)),
                ));
                rows.push(("conflicts".into(), db.conflicts.to_string()));
                rows.push(("failovers".into(), db.failovers.to_string()));
                rows.push(("lost writes".into(), db.lost_writes.to_string()));
                rows.push(("cost".into(), format!("{:.2}", db.cost)));
                for s in &db.shards {
                    for n in &s.nodes {
                        rows.push((
                            format!(
                                "shard {} node {} ({}, {})",
                                s.shard, n.node, n.region, n.role
                            ),
                            format!(
                                "util {:.1} %, lag mean {:.3} s, max {:.3} s",
                                n.utilization * 100.0,
                                n.lag_mean_s,
                                n.lag_max_s
                            ),
                        ));
                    }
                }
            }
        }
        Node::Cache(k) => {
            let name = &c.caches[k].name;
            let caches = report.and_then(|rep| rep.data.as_ref()).map(|d| &d.caches);
            for cr in caches.into_iter().flatten().filter(|cr| &cr.name == name) {
                rows.push((
                    cr.region.clone(),
                    format!(
                        "hit ratio {} ({} hits, {} misses), bypassed {}, stale served {}",
                        pct(cr.hit_ratio),
                        cr.hits,
                        cr.misses,
                        cr.bypassed,
                        cr.stale_served
                    ),
                ));
            }
        }
    }
    grid(ui, rows);
    if report.is_none() {
        ui.label("Run the scenario to see this component's figures.");
    }
}
